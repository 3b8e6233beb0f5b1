"""A hall as an attacker on its LAN meets it: a real Mosquitto that demands each device's own login
and holds it to its own topics (the generated password file and ACL), a real gateway, a real
central with its case engine, and devices that each speak with their own valid login.

Nothing here breaks an ACL: every forgery goes out on the forger's own topic with its own
password. What the tests check is what the gateway and central then believe.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from central.config import CentralConfig
from central.service import CentralService
from contract.envelope import Received, dump_envelope, new_envelope
from contract.kinds import BrokerRole
from edge.runtime.agent import AgentConfig, EdgeAgent
from gateway.config import GatewayConfig
from gateway.service import GatewayService
from provisioning.passwords import mosquitto_hash
from spine.broker.access import Account, central_user, gateway_forward_user, gateway_ingest_user
from spine.broker.runner import BrokerOptions, MosquittoBroker, free_port
from spine.broker.security import ListenerPlan, current_user, security_lines, write_access_files
from spine.clock import SystemClock
from spine.uplink import build_batch
from tests.support import wait_until
from tests.trust.samples import HALL, OTHER_HALL

GATEWAY = "gw-hall-01"
OTHER_GATEWAY = "gw-hall-02"
CENTRAL = "central"
FAST = {"heartbeat_s": 1, "ack_timeout_s": 3, "reconnect_min_s": 0.2, "reconnect_max_s": 1.0}
TOKENS = {"viewer": "trust-viewer-token", "office": "trust-office-token",
          "approval-zr": "trust-approval-zr-token", "approval-ga": "trust-approval-ga-token"}
USERS = [
    {"name": "viewer", "role": "viewer", "token": TOKENS["viewer"]},
    {"name": "office", "role": "supervisor", "token": TOKENS["office"]},
    {"name": "approval-zr", "role": "approval", "units": ["自然资源局"], "token": TOKENS["approval-zr"]},
    {"name": "approval-ga", "role": "approval", "units": ["公安局"], "token": TOKENS["approval-ga"]},
]


@dataclass(frozen=True)
class Device:
    id: str
    kind: str
    window: str | None = None
    agent: bool = True
    """False: a device whose login the test uses by hand (tampered firmware), no agent running."""

    def known(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "window": self.window}


@dataclass
class SecuredHall:
    root: Path
    broker: MosquittoBroker
    passwords: dict[str, str]
    central: CentralService
    gateway: GatewayService
    agents: dict[str, EdgeAgent] = field(default_factory=dict)

    # --- speaking --------------------------------------------------------------------------

    def agent(self, device: str) -> EdgeAgent:
        return self.agents[device]

    def state(self, device: str, type: str, body: dict[str, Any]) -> str:
        """The device records a fact with its own login, on its own topic; returns the event id."""
        return self.agents[device].record(type, body).event_id

    def publish_as_device(self, device: str, envelopes: list[dict[str, Any]]) -> None:
        """A batch built by hand (a tampered device), published with the device's own login."""
        self._publish(device, f"hall/{HALL}/dev/{device}/events", device, envelopes)

    def publish_as_other_gateway(self, envelopes: list[dict[str, Any]], sender: str = OTHER_GATEWAY) -> None:
        """A batch on `central/hall-02/events` with hall-02's gateway's own forward login: a gateway
        that lies (no gateway of hall-02 runs, so no session is taken over)."""
        self._publish(gateway_forward_user(OTHER_GATEWAY), f"central/{OTHER_HALL}/events", sender, envelopes)

    def _publish(self, username: str, topic: str, sender: str, envelopes: list[dict[str, Any]]) -> None:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{username}",
                             protocol=MQTTProtocolVersion.MQTTv5)
        client.username_pw_set(username, self.passwords[username])
        client.connect("127.0.0.1", self.broker.port)
        client.loop_start()
        try:
            payload = build_batch(uuid.uuid4().hex, sender, SystemClock(),
                                  [dump_envelope(e) for e in envelopes])
            client.publish(topic, payload, qos=1).wait_for_publish(10)
        finally:
            client.disconnect()
            client.loop_stop()

    # --- where a fact ended up ---------------------------------------------------------------

    def at_gateway(self, event_id: str) -> str | None:
        """'stored', 'refused' (dead letter) or None (not there yet)."""
        if self.gateway.db.query("SELECT 1 FROM events WHERE event_id = ?", (event_id,)):
            return "stored"
        if self.gateway.db.query("SELECT 1 FROM dead_letters WHERE event_id = ?", (event_id,)):
            return "refused"
        return None

    def at_central(self, event_id: str) -> str | None:
        store = self.central.store
        if store.query("SELECT 1 FROM events WHERE event_id = ?", (event_id,)):
            return "stored"
        if store.query("SELECT 1 FROM dead_letters WHERE event_id = ?", (event_id,)):
            return "refused"
        return None

    def gateway_reason(self, event_id: str) -> str:
        rows = self.gateway.db.query("SELECT reason FROM dead_letters WHERE event_id = ?", (event_id,))
        return str(rows[0][0]) if rows else ""

    def central_reason(self, event_id: str) -> str:
        rows = self.central.store.query("SELECT reason FROM dead_letters WHERE event_id = ?", (event_id,))
        return str(rows[0][0]) if rows else ""

    def gateway_bodies(self, type: str) -> list[dict[str, Any]]:
        rows = self.gateway.db.query("SELECT payload FROM events WHERE type = ? ORDER BY id", (type,))
        return [json.loads(payload)["body"] for (payload,) in rows]

    def central_bodies(self, type: str) -> list[dict[str, Any]]:
        rows = self.central.store.query("SELECT payload FROM events WHERE type = ? ORDER BY id", (type,))
        return [json.loads(payload)["body"] for (payload,) in rows]

    def central_envelope(self, event_id: str) -> dict[str, Any]:
        (payload,) = self.central.store.query("SELECT payload FROM events WHERE event_id = ?", (event_id,))[0]
        return dict(json.loads(payload))

    def wait_settled(self, event_ids: Iterable[str], timeout: float = 60) -> None:
        """Until the gateway stored or refused each event, and central has each one it stored."""
        ids = list(event_ids)

        def settled() -> bool:
            for event_id in ids:
                where = self.at_gateway(event_id)
                if where is None or (where == "stored" and self.at_central(event_id) is None):
                    return False
            return True

        wait_until(settled, timeout, f"{len(ids)} facts to settle at the gateway and central")

    def api(self, user: str) -> httpx.Client:
        return httpx.Client(base_url=self.central.base_url, timeout=20,
                            headers={"Authorization": f"Bearer {TOKENS[user]}"})

    def stop(self) -> None:
        for agent in self.agents.values():
            agent.stop()
        self.gateway.stop()
        self.central.stop()
        self.broker.kill()


def envelope(device: str, type: str, body: dict[str, Any], *, seq: int = 1,
             recv: Received | None = None) -> dict[str, Any]:
    now = SystemClock()
    return new_envelope(device=device, seq=seq, boot="boot-forged", time=now.wall_ms(), mono=now.mono_ms(),
                        type=type, body=body, recv=recv)


def start_secured_hall(root: Path, devices: list[Device], *,
                       gateway: dict[str, Any] | None = None) -> SecuredHall:
    """Broker with every login and its ACL, central for two halls, hall-01's gateway, its devices."""
    passwords = {name: secrets.token_urlsafe(16) for name in [
        *(d.id for d in devices), gateway_ingest_user(GATEWAY), gateway_forward_user(GATEWAY),
        gateway_forward_user(OTHER_GATEWAY), central_user(CENTRAL)]}
    roles: dict[str, tuple[BrokerRole, str | None]] = {
        gateway_ingest_user(GATEWAY): (BrokerRole.GATEWAY_INGEST, HALL),
        gateway_forward_user(GATEWAY): (BrokerRole.GATEWAY_FORWARD, HALL),
        gateway_forward_user(OTHER_GATEWAY): (BrokerRole.GATEWAY_FORWARD, OTHER_HALL),
        central_user(CENTRAL): (BrokerRole.CENTRAL, None)}
    accounts = []
    for name, password in passwords.items():
        role, hall = roles.get(name, (BrokerRole.DEVICE, HALL))
        accounts.append(Account(name, role, mosquitto_hash(password), hall))
    access = root / "access"
    access.mkdir(parents=True, exist_ok=True)
    write_access_files(access, accounts)
    broker = MosquittoBroker(BrokerOptions(free_port(), root / "broker", extra_lines=security_lines(
        access, ListenerPlan(tls_port=None), run_as=current_user())))
    broker.start()

    def login(user: str) -> dict[str, Any]:
        return {"port": broker.port, "username": user, "password": passwords[user]}

    central = CentralService(CentralConfig.model_validate({
        "id": CENTRAL, "data_dir": str(root / "central"), "broker": login(central_user(CENTRAL)),
        "http": {"host": "127.0.0.1", "port": 0},
        "ingest": {"halls": [{"hall": HALL, "gateway": GATEWAY},
                             {"hall": OTHER_HALL, "gateway": OTHER_GATEWAY}]},
        "web": {"users": USERS, "tick_s": 3600},
    }))
    central.start()
    hall_gateway = GatewayService(GatewayConfig.model_validate({
        "gateway": {"id": GATEWAY, "hall": HALL},
        "store_path": str(root / "gateway" / "gateway.sqlite"),
        "hall_broker": login(gateway_ingest_user(GATEWAY)),
        "central_broker": login(gateway_forward_user(GATEWAY)),
        "uplink": FAST,
        "devices": {"known": [d.known() for d in devices], "silence_s": 30},
        "queue": {"board_delay_ms": 20},
        "broker_access": {"directory": str(access), "reload": f"pid:{broker.process.pid}"
                          if broker.process else "none"},
        **(gateway or {}),
    }))
    hall_gateway.start()
    hall = SecuredHall(root, broker, passwords, central, hall_gateway)
    for device in (d for d in devices if d.agent):
        agent = EdgeAgent(AgentConfig.model_validate({
            "device": {"id": device.id, "hall": HALL, "kind": device.kind, "window": device.window},
            "broker": login(device.id),
            "outbox": {"path": str(root / device.id / "outbox.sqlite")},
            "uplink": FAST,
        }))
        agent.start()
        hall.agents[device.id] = agent
    return hall
