"""The registry's vocabulary: device kinds and states, and what a device record holds."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from contract.kinds import WINDOW_KINDS, DeviceKind, DeviceState

__all__ = ["WINDOW_KINDS", "Device", "DeviceKind", "DeviceState", "Hall", "WindowRecord"]


@dataclass(frozen=True)
class Hall:
    id: str
    name: str
    gateway: str
    broker_hosts: list[str]
    broker_port: int


@dataclass(frozen=True)
class WindowRecord:
    hall: str
    id: str
    name: str
    department: str | None


@dataclass(frozen=True)
class Device:
    id: str
    hall: str
    kind: DeviceKind
    window: str | None
    serial: str | None
    state: DeviceState
    hardware: dict[str, Any] = field(default_factory=dict)
    credential_version: int = 0
    config_version: int = 0
    created_at: int = 0
    updated_at: int = 0

    def describe(self) -> dict[str, Any]:
        """What `list`/`show` print: everything but secrets (the record holds none anyway)."""
        return {
            "id": self.id,
            "hall": self.hall,
            "kind": self.kind.value,
            "window": self.window,
            "serial": self.serial,
            "state": self.state.value,
            "hardware": self.hardware,
            "credential_version": self.credential_version,
            "config_version": self.config_version,
        }


def hardware_json(hardware: dict[str, Any]) -> str:
    return json.dumps(hardware, sort_keys=True, ensure_ascii=False)
