"""Event types of the store-and-forward spine itself: presence, clocks, drops, test traffic."""

from __future__ import annotations

from pydantic import Field

from contract.authority import About
from contract.kinds import DEVICE_AUTHORS, Author
from contract.registry import Body, event_type


@event_type("sim.counter", authors=Author.SIM, about=About.ITSELF, essential=True)
class SimCounter(Body):
    """A numbered event from a simulated device (demo, tests, benchmarks)."""

    n: int = Field(ge=1)
    pad: str = ""


@event_type("sim.reading", authors=Author.SIM, about=About.ITSELF, essential=False)
class SimReading(Body):
    """Routine telemetry from a simulated device: may be dropped when the outbox is full."""

    n: int = Field(ge=1)
    value: float = 0.0


@event_type("device.dropped", authors=DEVICE_AUTHORS, about=About.ITSELF, essential=True)
class DeviceDropped(Body):
    """Events an outbox dropped for space since the last report, by reason and type."""

    counts: dict[str, dict[str, int]] = Field(
        description="reason -> event type -> how many were dropped"
    )
    total: int = Field(ge=0)


@event_type("device.online", authors=Author.GATEWAY, about=About.OWN_HALL, essential=True)
class DeviceOnline(Body):
    """Recorded by a gateway when a device comes online (status message or first traffic)."""

    device: str
    boot: str | None = None
    kind: str | None = None


@event_type("device.offline", authors=Author.GATEWAY, about=About.OWN_HALL, essential=True)
class DeviceOffline(Body):
    """Recorded by a gateway when a device goes offline (last will, stop, or silence)."""

    device: str
    reason: str
    last_seen: int | None = Field(None, description="gateway clock, ms")


@event_type("device.clock_skew", authors=Author.GATEWAY, about=About.OWN_HALL, essential=True)
class DeviceClockSkew(Body):
    """Recorded by a gateway when a device's clock drifts past the threshold, or comes back."""

    device: str
    skew_ms: int = Field(description="gateway clock minus device clock")
    state: str = Field(pattern="^(skewed|ok)$")


@event_type("gateway.dead_letter", authors=Author.GATEWAY, about=About.OWN_HALL, essential=True)
class GatewayDeadLetter(Body):
    """A message the gateway refused, so central sees what was refused and why."""

    device: str | None
    topic: str
    reason: str
    size: int
