"""A provisioned demo hall in one directory: the demo runs with logins, ACL and TLS on.

    demo = provision_demo_hall(root, broker_port=free_port())
    broker = MosquittoBroker(BrokerOptions(demo.broker_port, root / "broker",
                                           extra_lines=demo.broker_extra_lines))
    broker.start()
    GatewayService(load_config(GatewayConfig, demo.gateway_config)) ...
    CentralService(load_config(CentralConfig, demo.central_config)) ...
    EdgeAgent(load_config(AgentConfig, demo.device_configs["kiosk-hall-01-001"])) ...

One broker plays both the hall's and central's (the demo has one machine);
devices log in over TLS with the hall CA, the gateway and central over the
loopback listener, each with its own generated login. It composes
provisioning, the broker's files and the gateway's registry, so it lives at
the composition root.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract.kinds import BrokerRole
from gateway.registry.apply import apply_to_store
from provisioning.bundle import Layout, install_bundle
from provisioning.hallstate import build_hall_state, central_accounts
from provisioning.home import Home
from provisioning.local import LocalHallSync
from provisioning.model import DeviceKind, DeviceState
from provisioning.workflow import Delivery, Provisioner
from spine.broker.access import central_user, gateway_forward_user, gateway_ingest_user
from spine.broker.runner import free_port
from spine.broker.security import ListenerPlan, current_user, security_lines, write_tls_files
from spine.files import write_file_atomic

DEMO_TECHNICIAN = "demo-technician"
DemoDevice = tuple[DeviceKind, str | None, dict[str, Any]]
"""kind, window, settings (sections of the agent's own TOML)."""

DEFAULT_DEVICES: tuple[DemoDevice, ...] = (
    (DeviceKind.KIOSK, None, {
        "services": [{"prefix": "A", "name": "综合业务", "windows": ["w01", "w02"], "key": "1"}],
        "printer": {"kind": "file", "file_path": "printer.bin", "status_query": False},
    }),
    (DeviceKind.RATING, "w01", {"keypad": {"kind": "simulated"}}),
    (DeviceKind.RATING, "w02", {"keypad": {"kind": "simulated"}}),
    (DeviceKind.SIM, None, {}),
)


@dataclass(frozen=True)
class DemoHall:
    hall: str
    gateway: str
    broker_port: int
    """The loopback listener (gateway, central); pass it as `BrokerOptions.port`."""
    tls_port: int
    """The TLS listener the devices use."""
    broker_extra_lines: list[str]
    broker_dir: Path
    """Password file, ACL and TLS files; rewritten by every registry sync (then SIGHUP the broker)."""
    gateway_config: Path
    central_config: Path
    device_configs: dict[str, Path]
    home: Path
    """The provisioning home: `hall provision --home HOME device list` works on it."""


def _q(value: object) -> str:
    return json.dumps(str(value))


def provision_demo_hall(
    root: Path,
    *,
    broker_port: int,
    tls_port: int | None = None,
    hall: str = "hall-01",
    gateway: str = "gw-hall-01",
    devices: tuple[DemoDevice, ...] = DEFAULT_DEVICES,
    active: bool = True,
) -> DemoHall:
    """Provision a hall, its gateway, central and `devices` into `root`; start nothing.

    `active=True` marks the devices active as if their self-tests had passed
    (recorded as such in the audit log), so simulated devices count at once.
    """
    root = Path(root)
    tls_port = tls_port or free_port()
    broker_dir = root / "broker-auth"
    home = Home(root / "provisioning")
    provisioner = Provisioner(home, sync=None)
    try:
        registry = provisioner.registry
        with registry.transaction() as tx:
            registry.add_technician(tx, DEMO_TECHNICIAN, "Demo technician", ["*"], may_reprovision=True)
        provisioner.create_hall(hall, "Demo service hall", gateway, ["127.0.0.1", "localhost"], tls_port,
                                by=DEMO_TECHNICIAN)
        windows = sorted({w for _, w, _ in devices if w} | {"w01", "w02"})
        provisioner.add_windows(hall, [(w, f"Window {w}", None) for w in windows], by=DEMO_TECHNICIAN)
        gateway_passwords = provisioner.gateway_logins(hall, by=DEMO_TECHNICIAN)
        central_password = provisioner.central_login(central_user("central"), BrokerRole.CENTRAL,
                                                     by=DEMO_TECHNICIAN)

        configs: dict[str, Path] = {}
        for n, (kind, window, settings) in enumerate(devices, start=1):
            place = root / "devices" / f"{n:02d}"
            provisioner.layout = Layout(place / "etc", place / "var")
            handover = provisioner.add_device(hall, kind, Delivery(directory=place / "boot"),
                                              by=DEMO_TECHNICIAN, window=window, serial=f"DEMO-{n:04d}",
                                              hardware=settings)
            assert handover.bundle_dir is not None
            installed = install_bundle(handover.bundle_dir)
            assert installed.config is not None
            configs[handover.device.id] = installed.config
        if active:
            with registry.transaction() as tx:
                for device in configs:
                    registry.set_state(tx, device, DeviceState.ACTIVE)
                    registry.audit(tx, DEMO_TECHNICIAN, "device.activate", device,
                                   reason="demo: no self-test")
                registry.bump_sync_version(tx, hall)

        secrets = root / "secrets"
        ingest, forward = gateway_ingest_user(gateway), gateway_forward_user(gateway)
        for user, password in [*gateway_passwords.items(), (central_user("central"), central_password)]:
            write_file_atomic(secrets / f"{user}.password", password.encode() + b"\n", secret=True)
        gateway_store = root / "gateway" / "gateway.sqlite"
        LocalHallSync(broker_dir, reload=lambda: None,
                      gateway=lambda state: apply_to_store(state, gateway_store),
                      extra_accounts=lambda: central_accounts(registry))(build_hall_state(registry, hall))
        write_tls_files(broker_dir, home.hall_ca(hall).cert_pem, home.server_cert(hall, ["127.0.0.1"]))
        write_file_atomic(home.root / "sync.toml", (
            f'mode = "local"\nbroker_dir = {_q(broker_dir)}\ngateway_store = {_q(gateway_store)}\n'
            'reload = "none"  # the demo reloads its own broker\n').encode())

        gateway_config = root / "gateway.toml"
        write_file_atomic(gateway_config, "\n".join([
            f"store_path = {_q(gateway_store)}",
            "[gateway]", f"id = {_q(gateway)}", f"hall = {_q(hall)}",
            "[hall_broker]", f"port = {broker_port}", f"username = {_q(ingest)}",
            f"password_file = {_q(secrets / f'{ingest}.password')}",
            "[central_broker]", f"port = {broker_port}", f"username = {_q(forward)}",
            f"password_file = {_q(secrets / f'{forward}.password')}",
            "[broker_access]", f"directory = {_q(broker_dir)}",
            'reload = "none"  # the demo reloads its own broker', "",
        ]).encode())
        central_config = root / "central.toml"
        write_file_atomic(central_config, "\n".join([
            'id = "central"', f"data_dir = {_q(root / 'central')}",
            "[broker]", f"port = {broker_port}", f"username = {_q(central_user('central'))}",
            f"password_file = {_q(secrets / (central_user('central') + '.password'))}",
            "[ingest]", f"halls = [{{hall = {_q(hall)}, gateway = {_q(gateway)}}}]",
            "[http]", "port = 0",  # any free port: the demo hall may run beside another central
            "",
        ]).encode())
        lines = security_lines(broker_dir, ListenerPlan(tls_port=tls_port, tls_bind="127.0.0.1"),
                               run_as=current_user())
        return DemoHall(hall, gateway, broker_port, tls_port, lines, broker_dir, gateway_config,
                        central_config, configs, home.root)
    finally:
        provisioner.close()
