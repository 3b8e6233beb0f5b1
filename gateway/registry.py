"""Which devices may speak in this hall: the hall's part of the provisioning registry."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from edge.runtime.outbox import Outbox
from gateway.config import DevicePolicy

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS registry (
    device TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    window TEXT,
    state TEXT NOT NULL DEFAULT 'active'
);
"""


@dataclass(frozen=True)
class RegisteredDevice:
    id: str
    kind: str
    window: str | None
    state: str


class DeviceRegistry:
    """Registered devices, cached in memory: the ingest path asks on every batch."""

    def __init__(self, outbox: Outbox, policy: DevicePolicy) -> None:
        self.outbox = outbox
        self.policy = policy
        outbox.ensure_schema(SCHEMA)
        with outbox.transaction() as tx:
            for device in policy.known:
                tx.execute(
                    "INSERT INTO registry (device, kind, window) VALUES (?, ?, ?) "
                    "ON CONFLICT (device) DO UPDATE SET kind = excluded.kind, window = excluded.window",
                    (device.id, device.kind, device.window),
                )
        self._devices: dict[str, RegisteredDevice] = {}
        self.reload()
        if policy.open_enrolment:
            log.warning("open enrolment is on: any device may send to this hall (demo/bench only)")

    def reload(self) -> None:
        rows = self.outbox.query("SELECT device, kind, window, state FROM registry")
        self._devices = {row[0]: RegisteredDevice(*row) for row in rows}

    def get(self, device: str) -> RegisteredDevice | None:
        return self._devices.get(device)

    def refusal(self, device: str) -> str | None:
        """None when `device` may send, else why not (and what to do)."""
        registered = self._devices.get(device)
        if registered is None:
            if self.policy.open_enrolment:
                return None
            return f"unknown device {device!r}: provision it with 'hall provision device add'"
        if registered.state == "retired":
            return f"device {device!r} is retired"
        return None
