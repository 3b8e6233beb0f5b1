"""Group commit at a receiver: every batch waiting shares one commit, and nothing is acknowledged
(no ack, no PUBACK, no live message) before that commit holds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.runtime.agent import AgentConfig, EdgeAgent
from gateway.config import GatewayConfig
from gateway.service import GatewayService
from spine.broker.runner import MosquittoBroker
from spine.config import BrokerSettings
from spine.database import Database
from spine.mqtt import CommitGroups, ReceiverClient, make_client
from spine.sqlite import before_commit
from tests.support import wait_until

DEVICES = [f"sim-{n:02d}" for n in range(1, 11)]


def test_transactions_in_a_group_commit_once_and_a_failing_one_rolls_back_alone(tmp_path: Path) -> None:
    db = Database(tmp_path / "node.sqlite")
    db.ensure_schema("CREATE TABLE rows (n INTEGER);")
    seen: list[str] = []

    with db.group():
        for n in (1, 2, 3):
            try:
                with db.transaction() as tx:
                    tx.execute("INSERT INTO rows VALUES (?)", (n,))
                    db.after_commit(lambda n=n: seen.append(f"committed {n}"))
                    db.after_rollback(lambda n=n: seen.append(f"rolled back {n}"))
                    if n == 2:
                        raise RuntimeError("this batch fails; its neighbours do not")
            except RuntimeError:
                pass
        assert seen == ["rolled back 2"]  # nothing is announced before the group's commit

    assert seen == ["rolled back 2", "committed 1", "committed 3"]
    assert db.query("SELECT n FROM rows ORDER BY n") == [(1,), (3,)]


@pytest.fixture
def gateway(tmp_path: Path, broker: MosquittoBroker) -> Iterator[GatewayService]:
    service = GatewayService(GatewayConfig.model_validate({
        "store_path": str(tmp_path / "gateway" / "gateway.sqlite"),
        "hall_broker": {"port": broker.port},
        "central_broker": {"port": broker.port},
        "devices": {"known": [{"id": device} for device in DEVICES]},
    }))
    service.start()
    yield service
    service.stop()


def test_batches_waiting_at_the_gateway_share_one_commit_and_each_device_is_acknowledged(
    tmp_path: Path, broker: MosquittoBroker, gateway: GatewayService
) -> None:
    agents = [EdgeAgent(AgentConfig.model_validate({
        "device": {"id": device, "hall": "hall-01", "kind": "sim"},
        "broker": {"port": broker.port},
        "outbox": {"path": str(tmp_path / device / "outbox.sqlite")},
        # Only the batches may reach the gateway while it is held: a heartbeat or a probe for
        # a late ack arriving then (a loaded machine is slow) would be a group of its own.
        "uplink": {"heartbeat_s": 3600, "ack_timeout_s": 3600},
    })) for device in DEVICES]
    commits = gateway.ingest.commits
    assert commits is not None
    try:
        for agent in agents:
            agent.start()
        wait_until(lambda: all(agent.uplink.stats.connected for agent in agents), 30, "every device online")
        wait_until(lambda: len([d for d in gateway.presence.snapshot() if d["outbox_events"] is not None])
                   == len(DEVICES), 30, "every device's first heartbeat")
        # And whatever each sent on starting acknowledged: a batch still in flight would hold
        # back the next one (a small batch waits for nothing in flight), past the wait below.
        wait_until(lambda: all(agent.uplink.drained() for agent in agents), 30, "every start acknowledged")
        with gateway.db.lock:  # the gateway's disk is busy: what arrives meanwhile waits
            for agent in agents:
                agent.record("sim.counter", {"n": 1})
            wait_until(lambda: commits._waiting.qsize() >= len(DEVICES) - 1, 30, "every batch to wait")
            before = commits.groups
        wait_until(lambda: all(agent.uplink.drained() for agent in agents), 30, "every device acknowledged")
        assert commits.groups - before <= 2  # the one taken before the wait, then all the others
        stored = gateway.db.query("SELECT count(*) FROM events WHERE type = 'sim.counter'")
        assert stored == [(len(DEVICES),)]
    finally:
        for agent in agents:
            agent.stop()


def test_nothing_goes_out_when_the_group_commit_fails(tmp_path: Path, broker: MosquittoBroker) -> None:
    db = Database(tmp_path / "node.sqlite")
    db.ensure_schema("CREATE TABLE rows (payload TEXT);")
    heard: list[bytes] = []
    listener = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="listener")
    listener.on_message = lambda _c, _u, message: heard.append(message.payload)
    listener.connect("127.0.0.1", broker.port)
    listener.subscribe("acks", qos=1)
    listener.loop_start()
    receiver = make_client("receiver", BrokerSettings(port=broker.port), manual_ack=True)
    assert isinstance(receiver, ReceiverClient)
    fail = threading.Event()

    def process(message: mqtt.MQTTMessage) -> None:
        with db.transaction() as tx:
            tx.execute("INSERT INTO rows VALUES (?)", (message.payload.decode(),))
            if fail.is_set():
                before_commit(tx, "disk", lambda: (_ for _ in ()).throw(OSError("the disk is full")))
        receiver.publish("acks", b"ack " + message.payload, qos=1)

    commits = CommitGroups(receiver, db, process, name="test")
    receiver.on_message = commits.on_message
    receiver.on_connect = lambda client, *_a: client.subscribe("batches", qos=1)
    commits.start()
    receiver.connect("127.0.0.1", broker.port)
    receiver.loop_start()
    sender = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sender")
    sender.connect("127.0.0.1", broker.port)
    sender.loop_start()
    try:
        wait_until(receiver.is_connected, 10, "the receiver")
        fail.set()
        sender.publish("batches", b"first", qos=1)
        wait_until(lambda: commits.failed == 1, 10, "the group's commit to fail")
        assert db.query("SELECT count(*) FROM rows") == [(0,)]
        fail.clear()
        sender.publish("batches", b"second", qos=1)
        wait_until(lambda: heard, 10, "the second batch's ack")
        assert heard == [b"ack second"]  # the first one's ack never went out
        assert db.query("SELECT payload FROM rows") == [("second",)]
    finally:
        for client in (sender, receiver, listener):
            client.disconnect()
            client.loop_stop()
        commits.stop()
