"""A provisioned hall on a real Mosquitto: registry, CA, generated password file, ACL and TLS."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from provisioning.bundle import PASSWORD_FILE, Layout
from provisioning.hallstate import central_accounts
from provisioning.home import Home
from provisioning.local import LocalHallSync
from provisioning.model import DeviceKind
from provisioning.workflow import Delivery, Handover, Provisioner
from spine.broker.access import gateway_ingest_user
from spine.broker.runner import BrokerOptions, MosquittoBroker, free_port
from spine.broker.security import ListenerPlan, current_user, security_lines, write_tls_files
from tests.support import wait_until

HALL = "hall-01"
SETTINGS: dict[DeviceKind, dict[str, Any]] = {
    DeviceKind.KIOSK: {
        "services": [{"prefix": "A", "name": "综合业务", "windows": ["w01"]}],
        "printer": {"kind": "file", "file_path": "/dev/null", "status_query": False},
    },
    DeviceKind.RATING: {"keypad": {"kind": "simulated"}},
}
"""Valid settings for each kind's own configuration model."""
GATEWAY = "gw-hall-01"
TECHNICIAN = "tech-li"


@dataclass
class Probe:
    """An MQTT client that remembers everything that happened to it."""

    client: mqtt.Client
    connack: Any = None
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    pubacks: dict[int, Any] = field(default_factory=dict)
    disconnects: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, topic: str, payload: str = "x", retain: bool = False) -> Any:
        """Publish at QoS 1 and return the broker's PUBACK reason."""
        mid = self.client.publish(topic, payload, qos=1, retain=retain).mid
        return wait_until(lambda: self.pubacks.get(mid), 10, f"PUBACK for {topic}")

    def subscribe(self, *topics: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *_: done.set()
        self.client.subscribe([(t, 1) for t in topics])
        assert done.wait(10), "no SUBACK"

    def topics(self) -> list[str]:
        with self.lock:
            return [t for t, _ in self.messages]

    @property
    def connected(self) -> bool:
        return self.client.is_connected()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def connect(
    port: int, username: str, password: str, *, client_id: str | None = None, ca: Path | None = None,
    cert: Path | None = None, key: Path | None = None, wait: bool = True,
) -> Probe:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or username,
                         protocol=MQTTProtocolVersion.MQTTv5)
    client.username_pw_set(username, password)
    if ca is not None:
        client.tls_set(ca_certs=str(ca), certfile=str(cert) if cert else None,
                       keyfile=str(key) if key else None, cert_reqs=ssl.CERT_REQUIRED)
    probe = Probe(client)

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        probe.connack = reason

    def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with probe.lock:
            probe.messages.append((message.topic, bytes(message.payload)))

    client.on_connect = on_connect
    client.on_message = on_message
    client.on_publish = lambda _c, _u, mid, reason, _p: probe.pubacks.__setitem__(mid, reason)
    client.on_disconnect = lambda _c, _u, _f, reason, _p: probe.disconnects.append(str(reason))
    # No automatic reconnect: a refused client must stay refused for the test to see it.
    client.connect("127.0.0.1", port)
    client.loop_start()
    if wait:
        wait_until(lambda: probe.connack is not None, 10, f"CONNACK for {username}")
    return probe


@dataclass
class ProvisionedHall:
    root: Path
    provisioner: Provisioner
    broker: MosquittoBroker
    tls_port: int
    gateway_passwords: dict[str, str]
    probes: list[Probe] = field(default_factory=list)

    @property
    def ca_path(self) -> Path:
        return self.provisioner.home.hall_dir(HALL) / "ca.crt"

    def add(self, kind: DeviceKind = DeviceKind.SIM, **options: Any) -> Handover:
        n = len(list((self.root / "bundles").glob("*"))) if (self.root / "bundles").exists() else 0
        options.setdefault("hardware", SETTINGS.get(kind, {}))
        return self.provisioner.add_device(
            HALL, kind, Delivery(directory=self.root / "bundles" / f"card-{n}"), by=TECHNICIAN, **options
        )

    def connect(self, username: str, password: str, **options: Any) -> Probe:
        probe = connect(self.broker.port, username, password, **options)
        self.probes.append(probe)
        return probe

    def connect_device(self, handover: Handover, **options: Any) -> Probe:
        return self.connect(handover.device.id, password_in(handover), **options)

    def gateway(self) -> Probe:
        user = gateway_ingest_user(GATEWAY)
        return self.connect(user, self.gateway_passwords[user])


def password_in(handover: Handover) -> str:
    assert handover.bundle_dir is not None
    return (handover.bundle_dir / PASSWORD_FILE).read_text().strip()


def make_provisioner(root: Path, sync: Any = None) -> Provisioner:
    provisioner = Provisioner(Home(root / "home"), layout=Layout(root / "etc", root / "var"), sync=sync)
    with provisioner.registry.transaction() as tx:
        provisioner.registry.add_technician(tx, TECHNICIAN, "Li Wei", [HALL], may_reprovision=True)
        provisioner.registry.add_technician(tx, "tech-new", "Zhang Min", [HALL], may_reprovision=False)
    return provisioner


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[ProvisionedHall]:
    tls_port = free_port()
    broker_dir = tmp_path / "broker-auth"
    holder: dict[str, MosquittoBroker] = {}
    provisioner = make_provisioner(tmp_path)
    provisioner.sync = LocalHallSync(
        broker_dir, reload=lambda: holder["broker"].reload() if "broker" in holder else None,
        extra_accounts=lambda: central_accounts(provisioner.registry),
    )
    provisioner.create_hall(HALL, "Service centre", GATEWAY, ["localhost", "127.0.0.1"], tls_port,
                            by=TECHNICIAN)
    provisioner.add_windows(HALL, [("w01", "Window 1", None), ("w02", "Window 2", None)], by=TECHNICIAN)
    gateway_passwords = provisioner.gateway_logins(HALL, by=TECHNICIAN)
    provisioner.sync_hall(HALL)
    home = provisioner.home
    write_tls_files(broker_dir, home.hall_ca(HALL).cert_pem, home.server_cert(HALL, ["localhost"]))
    lines = security_lines(broker_dir, ListenerPlan(tls_port=tls_port, tls_bind="127.0.0.1"),
                           run_as=current_user())
    broker = MosquittoBroker(BrokerOptions(free_port(), tmp_path / "broker", extra_lines=lines))
    broker.start()
    holder["broker"] = broker
    setup = ProvisionedHall(tmp_path, provisioner, broker, tls_port, gateway_passwords)
    yield setup
    for probe in setup.probes:
        probe.close()
    broker.kill()
    provisioner.close()
