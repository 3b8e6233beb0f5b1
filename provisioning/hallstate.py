"""The hall's part of the registry, as central hands it to the hall's gateway.

One versioned document per hall: its devices (with their configuration) and
the broker logins of the hall (password hashes only). The gateway applies it
whole, so a lost or repeated sync is harmless: the next one carries everything.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from provisioning.devconfig import DeviceConfig
from provisioning.model import Device, DeviceState
from provisioning.registry import Registry
from spine.broker.access import Account, Role

SYNC_COMMAND = "registry.sync"


class HallDevice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: str
    window: str | None
    state: str
    credential_version: int
    config: DeviceConfig


class HallAccount(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    username: str
    role: Role
    hall: str | None
    password_hash: str = Field(repr=False)

    def account(self) -> Account:
        return Account(self.username, self.role, self.password_hash, self.hall)


class HallState(BaseModel):
    """What the gateway of `hall` needs to know: who may connect, and as what."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    command: str = SYNC_COMMAND
    hall: str
    gateway: str
    version: int
    devices: list[HallDevice]
    accounts: list[HallAccount] = Field(repr=False)

    def broker_accounts(self) -> list[Account]:
        return [a.account() for a in self.accounts]


def device_config(device: Device) -> DeviceConfig:
    return DeviceConfig(
        version=max(device.config_version, 1), device=device.id, hall=device.hall, kind=device.kind.value,
        window=device.window, hardware=device.hardware,
    )


def build_hall_state(registry: Registry, hall: str) -> HallState:
    info = registry.hall(hall)
    hashes = registry.device_hashes(hall)
    devices = [
        HallDevice(
            id=d.id, kind=d.kind.value, window=d.window, state=d.state.value,
            credential_version=d.credential_version, config=device_config(d),
        )
        for d in registry.devices(hall)
        if d.state != DeviceState.REGISTERED
    ]
    accounts = [
        HallAccount(username=device, role=Role.DEVICE, hall=hall, password_hash=hashed)
        for device, hashed in sorted(hashes.items())
    ]
    for username, role, account_hall, hashed in registry.accounts():
        if role == Role.GATEWAY_INGEST and account_hall == hall:
            accounts.append(HallAccount(username=username, role=Role.GATEWAY_INGEST, hall=hall,
                                        password_hash=hashed))
    return HallState(hall=hall, gateway=info.gateway, version=registry.sync_version(hall),
                     devices=devices, accounts=accounts)


def central_accounts(registry: Registry) -> list[Account]:
    """Logins of central's broker: each hall's forwarder, central itself, the provisioning tool."""
    return [
        Account(username, Role(role), hashed, hall)
        for username, role, hall, hashed in registry.accounts()
        if role in (Role.GATEWAY_FORWARD, Role.CENTRAL, Role.PROVISIONER)
    ]


def summary(state: HallState) -> dict[str, Any]:
    """The state without its hashes, for logs and command output."""
    return {"hall": state.hall, "version": state.version,
            "devices": {d.id: d.state for d in state.devices},
            "logins": sorted(a.username for a in state.accounts)}
