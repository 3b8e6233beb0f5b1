"""`hall demo`: a simulated hall on embedded defaults, end to end on this machine.

A Mosquitto broker, central, one hall gateway and simulated devices, all on
loopback; the devices produce traffic, and the demo prints what central
received. Everything lives under one data directory (a temp dir by default).
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from central.config import CentralConfig
from central.service import CentralService
from edge.runtime.agent import AgentConfig, EdgeAgent, install_signal_handlers
from gateway.broker import BrokerOptions, MosquittoBroker, free_port
from gateway.config import GatewayConfig
from gateway.service import GatewayService

log = logging.getLogger(__name__)

HALL = "hall-01"
GATEWAY = "gw-hall-01"


@dataclass
class DemoHall:
    """Handles on everything the demo started, stopped in reverse order."""

    root: Path
    port: int
    broker: MosquittoBroker
    stops: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        for stop in reversed(self.stops):
            try:
                stop()
            except Exception:  # stopping the rest matters more than one failure
                log.exception("demo: a component failed to stop")
        self.broker.stop()


def start_spine(root: Path, devices: list[dict[str, Any]]) -> tuple[DemoHall, GatewayService, CentralService]:
    broker = MosquittoBroker(BrokerOptions(free_port(), root / "broker"))
    broker.start()
    hall = DemoHall(root, broker.port, broker)
    broker_settings = {"port": broker.port}
    central = CentralService(
        CentralConfig.model_validate(
            {
                "data_dir": str(root / "central"),
                "broker": broker_settings,
                "ingest": {"halls": [{"hall": HALL, "gateway": GATEWAY}]},
            }
        )
    )
    central.start()
    hall.stops.append(central.stop)
    gateway = GatewayService(
        GatewayConfig.model_validate(
            {
                "gateway": {"id": GATEWAY, "hall": HALL},
                "store_path": str(root / "gateway" / "gateway.sqlite"),
                "hall_broker": broker_settings,
                "central_broker": broker_settings,
                "uplink": {"heartbeat_s": 2},
                "devices": {"known": devices, "silence_s": 10},
            }
        )
    )
    gateway.start()
    hall.stops.append(gateway.stop)
    return hall, gateway, central


def simulated_device(hall: DemoHall, device: str, stop: threading.Event) -> None:
    """A plain simulated device: numbered events and routine readings, one every half second."""
    agent = EdgeAgent(
        AgentConfig.model_validate(
            {
                "device": {"id": device, "hall": HALL, "kind": "sim"},
                "broker": {"port": hall.port},
                "outbox": {"path": str(hall.root / device / "outbox.sqlite")},
                "uplink": {"heartbeat_s": 2},
            }
        )
    )
    agent.start()
    hall.stops.append(agent.stop)

    def produce() -> None:
        n = agent.outbox.last_pos
        while not stop.wait(0.5):
            n += 1
            agent.record("sim.counter", {"n": n})
            agent.record("sim.reading", {"n": n, "value": 20.0 + n % 7})

    threading.Thread(target=produce, daemon=True, name=f"demo-{device}").start()


def summary(central: CentralService, gateway: GatewayService) -> dict[str, Any]:
    by_type = central.store.query("SELECT type, count(*) FROM events GROUP BY type ORDER BY type")
    return {
        "central_events_by_type": dict(by_type),
        "gateway": gateway.diagnostics(),
        "dead_letters_at_central": central.store.query("SELECT count(*) FROM dead_letters")[0][0],
    }


@click.command(name="demo")
@click.option("--duration", default=20.0, show_default=True, help="seconds of simulated traffic")
@click.option("--data-dir", type=click.Path(path_type=Path), help="keep the demo's files here")
@click.option("--once", is_flag=True, help="exit after the summary instead of serving until Ctrl-C")
def demo(duration: float, data_dir: Path | None, once: bool) -> None:
    """Run a simulated hall end to end and print what central received."""
    root = data_dir or Path(tempfile.mkdtemp(prefix="hallwatch-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    devices = [{"id": "sim-01", "kind": "sim"}]
    hall, gateway, central = start_spine(root, devices)
    stop = threading.Event()
    install_signal_handlers(stop)
    click.echo(f"hallwatch demo: broker on 127.0.0.1:{hall.port}, data in {root}")
    try:
        simulated_device(hall, "sim-01", stop)
        stop.wait(duration)
        traffic_stopped = time.monotonic()
        while time.monotonic() - traffic_stopped < 10 and gateway.outbox.depth()[0]:
            time.sleep(0.1)  # let the last events reach central before summarising
        click.echo(json.dumps(summary(central, gateway), indent=2, ensure_ascii=False))
        if not once and not stop.is_set():
            click.echo("the hall keeps running; press Ctrl-C to stop")
            stop.wait()
    finally:
        stop.set()
        hall.stop()
