"""The hall's registry as central hands it to the hall's gateway, and a device's configuration.

`registry.sync` is one versioned document per hall: its devices (with their
configuration), its windows and officers with the unit (department) each
serves, and the broker logins of the hall (password hashes only). The
gateway applies it whole, so a lost or repeated sync is harmless: the next one
carries everything. `DeviceConfig` is what the gateway then publishes, retained,
on each device's `config` topic; it never carries a secret.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from contract.kinds import BrokerRole, DeviceKind, DeviceState
from contract.registry import Body, CommandBody, command_type


@command_type("device.config")
class DeviceConfig(CommandBody):
    """What a device is told about itself: hall and window binding, hardware settings.

    Retained on `hall/<hall>/dev/<device>/config`; the device applies a version
    newer than the one it runs and reports `device.config_applied`.
    """

    command: Literal["device.config"] = "device.config"
    v: int = 1
    version: int = Field(ge=1, description="increases with every change to this device's record")
    device: str
    hall: str
    kind: DeviceKind
    window: str | None = None
    hardware: dict[str, Any] = Field(default_factory=dict)


class HallDevice(Body):
    id: str
    kind: DeviceKind
    window: str | None
    state: DeviceState
    credential_version: int
    config: DeviceConfig


class HallWindow(Body):
    """A window of the hall and the unit (department) it serves."""

    id: str
    name: str = ""
    department: str | None = None


class HallOfficer(Body):
    """An officer of the hall and their unit: whose cases a window's login may state facts of."""

    id: str
    name: str = ""
    department: str | None = None
    window: str | None = None


class HallAccount(Body):
    """One broker login of the hall: its password only as the broker's hash."""

    username: str
    role: BrokerRole
    hall: str | None
    password_hash: str = Field(repr=False)


@command_type("registry.sync")
class HallState(CommandBody):
    """What the gateway of `hall` needs to know: who may connect, and as what."""

    command: Literal["registry.sync"] = "registry.sync"
    hall: str
    gateway: str
    version: int
    devices: list[HallDevice]
    accounts: list[HallAccount] = Field(repr=False)
    windows: list[HallWindow] = Field(default_factory=list)
    officers: list[HallOfficer] = Field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The state without its hashes, for logs and command output."""
        return {"hall": self.hall, "version": self.version,
                "devices": {d.id: d.state.value for d in self.devices},
                "logins": sorted(a.username for a in self.accounts)}
