"""The sender's window: while the receiver is silent it probes; a window lost meanwhile goes again once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge.runtime.agent import AgentConfig, EdgeAgent
from gateway.config import GatewayConfig
from gateway.service import GatewayService
from spine.broker.runner import MosquittoBroker
from tests.support import wait_until

GATEWAY = "gw-hall-01"


def gateway_at(tmp_path: Path, port: int) -> GatewayService:
    return GatewayService(GatewayConfig.model_validate({
        "gateway": {"id": GATEWAY, "hall": "hall-01"},
        "store_path": str(tmp_path / "gateway" / "gateway.sqlite"),
        "hall_broker": {"port": port},
        "central_broker": {"port": port},
        "devices": {"known": [{"id": "sim-01"}]},
    }))


@pytest.fixture
def device(tmp_path: Path, broker: MosquittoBroker) -> Iterator[EdgeAgent]:
    agent = EdgeAgent(AgentConfig.model_validate({
        "device": {"id": "sim-01", "hall": "hall-01", "kind": "sim"},
        "broker": {"port": broker.port},
        "outbox": {"path": str(tmp_path / "sim-01" / "outbox.sqlite")},
        "uplink": {"ack_timeout_s": 0.3, "probe_max_s": 1.0, "batch_max_events": 5},
    }))
    agent.start()
    yield agent
    agent.stop()


def forget_session(port: int, client_id: str) -> None:
    """What a receiver whose broker session expired (or was wiped) finds: nothing queued for it."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=MQTTProtocolVersion.MQTTv5)
    client.connect("127.0.0.1", port, clean_start=True)
    client.loop_start()
    wait_until(client.is_connected, 10, "a clean session")
    client.disconnect()
    client.loop_stop()


def counters_at(gateway: GatewayService) -> list[int]:
    rows = gateway.db.query(
        "SELECT json_extract(payload, '$.body.n') FROM events WHERE type = 'sim.counter' ORDER BY id")
    return [int(n) for (n,) in rows]


def test_a_window_lost_while_the_receiver_was_away_is_sent_again_once_a_probe_is_answered(
    tmp_path: Path, broker: MosquittoBroker, device: EdgeAgent
) -> None:
    first = gateway_at(tmp_path, broker.port)
    first.start()  # its persistent session now holds its subscriptions
    wait_until(lambda: device.uplink.stats.connected, 10, "the device to connect")
    first.stop()

    for n in range(1, 21):
        device.record("sim.counter", {"n": n})
    wait_until(lambda: device.uplink.stats.probes >= 2, 30, "the device to probe its silent receiver")
    sent_while_away = device.uplink.stats.events_sent
    # Only the window and the probes went out, however long the silence.
    assert sent_while_away <= 20 + device.uplink.stats.probes
    forget_session(broker.port, f"{GATEWAY}-ingest")  # whatever the broker queued is gone

    second = gateway_at(tmp_path, broker.port)
    second.start()
    try:
        wait_until(lambda: len(counters_at(second)) >= 20, 30, "every event at the gateway")
        wait_until(device.uplink.drained, 30, "the device's outbox to drain")
        assert counters_at(second) == list(range(1, 21))  # once each, in order
        assert device.uplink.stats.resends >= 1
    finally:
        second.stop()

