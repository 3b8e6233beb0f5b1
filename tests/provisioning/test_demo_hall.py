"""The demo hall runs end to end with authentication, ACL and TLS on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from central.config import CentralConfig
from central.service import CentralService
from edge.runtime.agent import AgentConfig, EdgeAgent
from gateway.config import GatewayConfig
from gateway.service import GatewayService
from hallwatch.demo_hall import provision_demo_hall
from spine.broker.runner import BrokerOptions, MosquittoBroker, free_port
from spine.config import load_config
from tests.support import wait_until


def central_count(central: CentralService, device: str) -> int:
    with sqlite3.connect(central.config.events_path) as db:
        return int(db.execute("SELECT count(*) FROM events WHERE device = ? AND type = 'sim.counter'",
                              (device,)).fetchone()[0])


def test_a_provisioned_demo_hall_carries_a_device_event_to_central(tmp_path: Path) -> None:
    demo = provision_demo_hall(tmp_path / "demo", broker_port=free_port())
    assert len(demo.device_configs) == 4
    broker = MosquittoBroker(BrokerOptions(demo.broker_port, tmp_path / "broker",
                                           extra_lines=demo.broker_extra_lines))
    broker.start()
    central = CentralService(load_config(CentralConfig, demo.central_config))
    gateway = GatewayService(load_config(GatewayConfig, demo.gateway_config))
    device_id, device_config = next((d, c) for d, c in demo.device_configs.items() if d.startswith("sim-"))
    agent = EdgeAgent(load_config(AgentConfig, device_config))
    assert agent.config.broker.tls_ca is not None and agent.config.broker.port == demo.tls_port
    central.start()
    gateway.start()
    agent.start()
    try:
        assert gateway.registry.get(device_id) is not None
        assert gateway.registry.refusal(device_id) is None
        agent.record("sim.counter", {"n": 1})
        wait_until(lambda: central_count(central, device_id) == 1, 30, "the device's event at central")
    finally:
        agent.stop()
        gateway.stop()
        central.stop()
        broker.kill()
