"""Commands of the rating domain: the gateway asks a window's terminal for a rating."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contract.events.rating import VisitRef
from contract.registry import CommandBody, command_type


@command_type("rating.arm")
class RatingArm(CommandBody):
    """Sent when the queue serves a visit at the terminal's window; `arming` is the identity
    of this request, so a terminal that already armed itself for the visit treats both as one."""

    command: Literal["rating.arm"] = "rating.arm"
    arming: str = Field(min_length=4, max_length=64)
    visit: VisitRef
    window: str
    issued_at: int = Field(description="gateway clock when sent, ms; a stale arm is ignored")
