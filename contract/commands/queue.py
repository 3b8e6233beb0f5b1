"""Commands of the queue domain: the hall board, the day's appointments, replies to a window.

- `queue.board`: gateway -> every kiosk's command topic, and retained on
  `hall/<hall>/queue/board` for displays. A derived view, recomputed after changes.
- `queue.appointments`: central -> the hall gateway (`central/<hall>/cmd`), then
  gateway -> every kiosk with the redeemed state added. It replaces that day's list.
- `queue.window_reply`: gateway -> the window caller that made a request.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contract.events.queue import DAY, PREFIX
from contract.registry import Body, CommandBody, command_type


class ServiceLine(Body):
    """One service's queue as the gateway sees it."""

    waiting: int = Field(ge=0)
    waiting_priority: int = Field(ge=0)
    issued: int = Field(ge=0)
    high: dict[str, int] = Field(
        default_factory=dict, description="kiosk slot -> the highest number the gateway holds from it"
    )


class WindowLine(Body):
    window: str
    officer: str | None = None
    state: str | None = None
    ticket: str | None = None
    service: str | None = None


@command_type("queue.board")
class QueueBoard(CommandBody):
    """What kiosks (people ahead, daily limits, number floors) and displays see of the hall queue."""

    command: Literal["queue.board"] = "queue.board"
    day: str = Field(pattern=DAY)
    at: int = Field(description="gateway clock when computed, ms")
    services: dict[str, ServiceLine]
    windows: list[WindowLine] = Field(default_factory=list)


class Booking(Body):
    """One online appointment; no personal data: the hall needs only the code."""

    code: str = Field(pattern=r"^\d{4,12}$")
    service: str = Field(pattern=PREFIX)
    officer: str | None = None
    window: str | None = None
    not_before: int | None = Field(None, description="earliest redemption, ms since the epoch")
    not_after: int | None = Field(None, description="latest redemption, ms since the epoch")
    redeemed_ticket: str | None = Field(
        None, description="set by the gateway for kiosks: the ticket this code already became"
    )


@command_type("queue.appointments")
class QueueAppointments(CommandBody):
    """One hall's bookings of one day; replaces that day's list (redeemed codes stay redeemed)."""

    command: Literal["queue.appointments"] = "queue.appointments"
    day: str = Field(pattern=DAY)
    appointments: list[Booking]


class WindowStatus(Body):
    id: str
    officer: str | None = None
    state: str | None = None


class CurrentVisit(Body):
    ticket: str
    service: str | None = None
    day: str | None = None
    recalls: int = 0


@command_type("queue.window_reply")
class WindowReply(CommandBody):
    """The gateway's answer to a window caller's request (`request` echoes its id)."""

    command: Literal["queue.window_reply"] = "queue.window_reply"
    request: str | None = None
    ok: bool
    message: str
    window: WindowStatus | None = None
    current: CurrentVisit | None = None
