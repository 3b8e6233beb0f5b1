"""Which devices the relay may reach: recorders of this hall's registry, not retired nor quarantined."""

from __future__ import annotations

from typing import Any, Protocol

from contract.kinds import DeviceKind, DeviceState
from gateway.video.relay import RecorderRefusal


class Registered(Protocol):
    kind: str
    state: str


class HallRegistry(Protocol):
    """What the relay asks of the gateway's registry (`gateway.registry.store.DeviceRegistry`)."""

    def get(self, device: str) -> Any: ...

    def quarantined(self, device: str) -> Any: ...


def registered_recorders(registry: HallRegistry) -> RecorderRefusal:
    """A device is relayed to only while the hall's registry knows it as a recorder in service."""

    def refusal(device: str) -> str | None:
        registered: Registered | None = registry.get(device)
        if registered is None:
            return f"{device!r} is not in this hall's registry"
        if registered.kind != DeviceKind.RECORDER.value:
            return f"{device!r} is a {registered.kind}, not a recorder"
        if registered.state == DeviceState.RETIRED.value:
            return f"{device!r} is retired"
        if registry.quarantined(device) is not None:
            return f"{device!r} is quarantined"
        return None

    return refusal
