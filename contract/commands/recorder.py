"""Commands of the recorder domain: footage holds for complaints, placed from central or a technician.

Central publishes them on `central/<hall>/cmd` with a `device` routing key
(see `contract.commands.relay`); the gateway relays them, without that key, to
the recorder's command topic. Every command carries an `id`; a hold without
its own `hold_id` takes the command id, so a command delivered twice (QoS 1)
holds once. The recorder answers on its `reply` channel.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter, field_validator, model_validator

from contract.registry import Body, CommandBody, command_type

HOLD_ID = r"^[A-Za-z0-9._:-]{1,100}$"
COMMAND_ID = r"^[A-Za-z0-9._:-]{1,100}$"
PREFIX = "recorder."


class HoldRequest(Body):
    """What placing a hold needs; times as ISO 8601, ms since the epoch, or +N[smhd] from now."""

    hold_id: str | None = Field(
        None, pattern=HOLD_ID, description="idempotency key: the same id never holds twice"
    )
    camera: str | None = None
    window: str | None = None
    start: str | int = Field(alias="from")
    end: str | int = Field(alias="to")
    until: str | int
    who: str = Field(min_length=1, max_length=200)
    why: str = Field(min_length=1, max_length=1000)

    @field_validator("who", "why")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank: a hold says who placed it and why")
        return value.strip()

    @model_validator(mode="after")
    def _one_target(self) -> HoldRequest:
        if (self.camera is None) == (self.window is None):
            raise ValueError("give exactly one of camera or window")
        return self


class ReleaseRequest(Body):
    hold_id: str = Field(pattern=HOLD_ID)
    who: str = Field(min_length=1, max_length=200)
    why: str = Field(min_length=1, max_length=1000)


class _RecorderCommand(CommandBody):
    v: Literal[1] = 1
    id: str = Field(pattern=COMMAND_ID, description="the sender's command id, echoed in the reply")


@command_type("recorder.hold")
class RecorderHold(_RecorderCommand):
    """Place a hold: `{"v":1,"id":"c-17","command":"recorder.hold","hold":{...HoldRequest}}`."""

    command: Literal["recorder.hold"] = "recorder.hold"
    hold: HoldRequest


@command_type("recorder.release")
class RecorderRelease(_RecorderCommand):
    command: Literal["recorder.release"] = "recorder.release"
    release: ReleaseRequest


@command_type("recorder.holds")
class RecorderListHolds(_RecorderCommand):
    """List the recorder's holds (the reply carries them)."""

    command: Literal["recorder.holds"] = "recorder.holds"


RecorderCommand = Annotated[
    RecorderHold | RecorderRelease | RecorderListHolds, Field(discriminator="command")
]
RECORDER_COMMANDS: TypeAdapter[RecorderHold | RecorderRelease | RecorderListHolds] = TypeAdapter(
    RecorderCommand
)
