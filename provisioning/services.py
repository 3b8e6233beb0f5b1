"""Bundles for the hall gateway and for central: their broker, their logins, their configuration.

Making a bundle issues new passwords for the role (the registry keeps no
plaintext to copy), so the previous holder's logins die at the next sync.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from contract.kinds import BrokerRole
from provisioning.bundle import Layout, placed
from provisioning.hallstate import build_hall_state, central_accounts
from provisioning.workflow import Provisioner
from spine.broker.access import (
    central_user,
    gateway_forward_user,
    gateway_ingest_user,
    hall_accounts,
    provisioner_user,
    render_acl,
    render_password_file,
)
from spine.broker.runner import BrokerOptions, render_config
from spine.broker.security import (
    ACL,
    BROKER_UNIT,
    CA_CERT,
    PASSWORDS,
    SERVER_CERT,
    SERVER_KEY,
    ListenerPlan,
    security_lines,
)
from spine.files import FileEntry

HALL_BROKER_LOCAL_PORT = 1883
CENTRAL_BROKER_PORT = 8883


def _mosquitto_conf(lines: list[str], layout: Layout, local_port: int = HALL_BROKER_LOCAL_PORT) -> str:
    """The broker's whole mosquitto.conf: the local plain listener for this machine's own
    services, the TLS listener for the network, persistence under the data directory."""
    return render_config(BrokerOptions(local_port, layout.var / "mosquitto", extra_lines=lines))


def _q(value: object) -> str:
    return json.dumps(str(value), ensure_ascii=False)


@dataclass(frozen=True)
class CentralEndpoint:
    """How a gateway reaches central's broker."""

    host: str
    port: int = CENTRAL_BROKER_PORT


def gateway_bundle(
    provisioner: Provisioner, hall: str, central: CentralEndpoint, *, by: str, layout: Layout | None = None,
    local_port: int = HALL_BROKER_LOCAL_PORT,
) -> dict[str, FileEntry]:
    """Everything a hall gateway Pi needs: its config, its two logins, its broker, the hall's registry."""
    layout = layout or Layout()
    info = provisioner.registry.hall(hall)
    passwords = provisioner.gateway_logins(hall, by=by)
    home = provisioner.home
    state = build_hall_state(provisioner.registry, hall)
    broker_dir = layout.var / "broker"  # rewritten by every registry sync: must be writable
    ingest, forward = gateway_ingest_user(info.gateway), gateway_forward_user(info.gateway)
    config = "\n".join([
        "# Written by 'hall provision gateway bundle'.",
        f"store_path = {_q(layout.var / 'gateway.sqlite')}",
        "[gateway]", f"id = {_q(info.gateway)}", f"hall = {_q(hall)}",
        "[hall_broker]", 'host = "127.0.0.1"', f"port = {local_port}",
        f"username = {_q(ingest)}", f"password_file = {_q(layout.var / 'secrets/hall-broker.password')}",
        "[central_broker]", f"host = {_q(central.host)}", f"port = {central.port}",
        f"username = {_q(forward)}", f"password_file = {_q(layout.var / 'secrets/central-broker.password')}",
        f"tls_ca = {_q(layout.etc / 'central-ca.crt')}",
        "[broker_access]  # rewritten by every registry sync, then the broker is told",
        f"directory = {_q(broker_dir)}", f"reload = {_q(f'systemd:{BROKER_UNIT}')}", "",
    ])
    lines = security_lines(broker_dir, ListenerPlan(tls_port=info.broker_port))
    mosquitto = _mosquitto_conf(lines, layout, local_port)
    server = home.server_cert(hall, info.broker_hosts)
    accounts = hall_accounts(state)
    files = {
        "gateway.toml": FileEntry(config.encode()),
        "mosquitto.conf": FileEntry(mosquitto.encode()),
        "central-ca.crt": FileEntry(home.central_ca().cert_pem),
        "hall-state.json": FileEntry(state.model_dump_json().encode(), secret=True),
        "secrets/hall-broker.password": FileEntry(passwords[ingest].encode() + b"\n", secret=True),
        "secrets/central-broker.password": FileEntry(passwords[forward].encode() + b"\n", secret=True),
        f"broker/{PASSWORDS}": FileEntry(render_password_file(accounts).encode(), secret=True),
        f"broker/{ACL}": FileEntry(render_acl(accounts).encode(), secret=True),
        f"broker/{CA_CERT}": FileEntry(home.hall_ca(hall).cert_pem),
        f"broker/{SERVER_CERT}": FileEntry(server.cert_pem),
        f"broker/{SERVER_KEY}": FileEntry(server.key_pem, secret=True),
    }
    writable = ("broker/", "secrets/", "hall-state.json")
    places = {name: layout.var / name if name.startswith(writable) else layout.etc / name for name in files}
    return placed(files, {"role": "gateway", "hall": hall, "gateway": info.gateway}, places)


def central_bundle(
    provisioner: Provisioner, hosts: list[str], *, by: str, central_id: str = "central",
    port: int = CENTRAL_BROKER_PORT, layout: Layout | None = None,
) -> dict[str, FileEntry]:
    """Central's broker (every hall's forwarder, central, the provisioning tool) and central's login.

    Also writes the provisioning tool's own login into its home, so that
    `hall provision` can push each hall's registry through central's broker.
    """
    layout = layout or Layout()
    home = provisioner.home
    central_password = provisioner.central_login(central_user(central_id), BrokerRole.CENTRAL, by=by)
    tool_password = provisioner.central_login(provisioner_user(central_id), BrokerRole.PROVISIONER, by=by)
    from spine.files import write_file_atomic

    write_file_atomic(home.provisioner_password_path, tool_password.encode() + b"\n", secret=True)
    write_file_atomic(home.root / "sync.toml", "\n".join([
        'mode = "mqtt"', "[broker]", f"host = {_q(hosts[0])}", f"port = {port}",
        f"username = {_q(provisioner_user(central_id))}",
        f"password_file = {_q(home.provisioner_password_path.resolve())}",
        f"tls_ca = {_q((home.root / 'central' / 'ca.crt').resolve())}", "",
    ]).encode())
    accounts = central_accounts(provisioner.registry)
    broker_dir = layout.var / "broker"
    halls = ", ".join(
        f"{{hall = {_q(h.id)}, gateway = {_q(h.gateway)}}}" for h in provisioner.registry.halls()
    )
    config = "\n".join([
        "# Written by 'hall provision central bundle'.",
        f"id = {_q(central_id)}", f"data_dir = {_q(layout.var / 'central')}",
        "[broker]", 'host = "127.0.0.1"', f"port = {HALL_BROKER_LOCAL_PORT}",
        f"username = {_q(central_user(central_id))}",
        f"password_file = {_q(layout.var / 'secrets/central-broker.password')}",
        "[ingest]", f"halls = [{halls}]", "",
    ])
    lines = security_lines(broker_dir, ListenerPlan(tls_port=port))
    mosquitto = _mosquitto_conf(lines, layout)
    server = home.central_server_cert(hosts)
    files = {
        "central.toml": FileEntry(config.encode()),
        "mosquitto.conf": FileEntry(mosquitto.encode()),
        "secrets/central-broker.password": FileEntry(central_password.encode() + b"\n", secret=True),
        f"broker/{PASSWORDS}": FileEntry(render_password_file(accounts).encode(), secret=True),
        f"broker/{ACL}": FileEntry(render_acl(accounts).encode(), secret=True),
        f"broker/{CA_CERT}": FileEntry(home.central_ca().cert_pem),
        f"broker/{SERVER_CERT}": FileEntry(server.cert_pem),
        f"broker/{SERVER_KEY}": FileEntry(server.key_pem, secret=True),
    }
    places = {name: layout.var / name if "/" in name else layout.etc / name for name in files}
    return placed(files, {"role": "central"}, places)
