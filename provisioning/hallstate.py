"""Building the hall's part of the registry (`contract.commands.registry.HallState`) from
provisioning's registry, for central to hand to the hall's gateway."""

from __future__ import annotations

from contract.commands.registry import (
    DeviceConfig,
    HallAccount,
    HallDevice,
    HallOfficer,
    HallState,
    HallWindow,
)
from contract.kinds import BrokerRole
from provisioning.model import Device, DeviceState
from provisioning.registry import Registry
from spine.broker.access import Account


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
        HallAccount(username=device, role=BrokerRole.DEVICE, hall=hall, password_hash=hashed)
        for device, hashed in sorted(hashes.items())
    ]
    for username, role, account_hall, hashed in registry.accounts():
        if role == BrokerRole.GATEWAY_INGEST and account_hall == hall:
            accounts.append(HallAccount(username=username, role=BrokerRole.GATEWAY_INGEST, hall=hall,
                                        password_hash=hashed))
    # A unit is named as cases and ratings name it: the department's name, not its id.
    units = dict(registry.departments(hall))
    windows = [HallWindow(id=w.id, name=w.name, department=units.get(w.department or "", w.department))
               for w in registry.windows(hall)]
    officers = [HallOfficer(id=o["id"], name=o["name"], window=o["window"],
                            department=units.get(o["department"] or "", o["department"]))
                for o in registry.officers(hall)]
    return HallState(hall=hall, gateway=info.gateway, version=registry.sync_version(hall),
                     devices=devices, accounts=accounts, windows=windows, officers=officers)


def central_accounts(registry: Registry) -> list[Account]:
    """Logins of central's broker: each hall's forwarder, central itself, the provisioning tool."""
    return [
        Account(username, BrokerRole(role), hashed, hall)
        for username, role, hall, hashed in registry.accounts()
        if role in (BrokerRole.GATEWAY_FORWARD, BrokerRole.CENTRAL, BrokerRole.PROVISIONER)
    ]
