"""Event types of the hall's security: facts refused because their author may not state them.

A refusal is an alarm, not a log line. The gateway records `security.refused`
for every fact (or whole batch) a device sent that the authority table does not
allow it, counts them per device, and may quarantine a device after repeated
refusals (`[security]` in the gateway's TOML); a technician's release is
recorded as `security.released`. Central counts them on the hall's telemetry
and shows them in the big screen's alarm list (docs/security.md).
"""

from __future__ import annotations

from pydantic import Field

from contract.authority import About
from contract.kinds import Author
from contract.registry import Body, event_type


@event_type("security.refused", authors=Author.GATEWAY, about=About.OWN_HALL, essential=True)
class SecurityRefused(Body):
    """A device's fact (or whole batch) the gateway refused: its author may not state it."""

    device: str | None = Field(description="the sender, as its broker login and topic name it")
    kind: str | None = Field(None, description="its kind in the gateway's registry; None: not registered")
    type: str | None = Field(None, description="the event type refused; None: the whole batch")
    event_id: str | None = None
    reason: str = Field(max_length=500)
    refusals: int = Field(ge=1, description="this device's refusals within the quarantine window")
    quarantined: bool = Field(False, description="this refusal put the device in quarantine")


@event_type("security.released", authors=Author.GATEWAY, about=About.OWN_HALL, essential=True)
class SecurityReleased(Body):
    """A technician released a quarantined device at the gateway (`hall gateway release`)."""

    device: str
    by: str = Field(max_length=80, description="the technician, as they named themselves at the gateway")
    reason: str = Field("", max_length=500)
    quarantined_at: int = Field(description="when the quarantine began, gateway clock, ms")
