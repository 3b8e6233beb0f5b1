"""`hall demo`: a simulated hall on embedded defaults, end to end on this machine.

One Mosquitto, central (API, countdown engine, big screen), the hall gateway,
and simulated devices: two ticket kiosks printing through python-escpos to
simulated printers, a window caller per window with its officer, a rating
terminal per window whose citizens rate when armed, a camera recorder with two
ffmpeg test-pattern cameras, and a plain simulated device. Everything lives
under one data directory (a temp dir by default) and talks over loopback.
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

from central.service import CentralService
from edge.runtime.agent import AgentConfig, EdgeAgent
from gateway.config import GatewayConfig
from gateway.service import GatewayService
from spine.broker.runner import BrokerOptions, MosquittoBroker, free_port
from spine.config import BrokerSettings
from spine.service import run_until_signal

log = logging.getLogger(__name__)

HALL = "hall-01"
GATEWAY = "gw-hall-01"
WINDOWS = ("1", "2", "3")
OFFICERS = {  # the queue demo logs officer 10N in at window N
    "101": {"name": "王小明", "department": "市场监管局"},
    "102": {"name": "李娜", "department": "公安局户政科"},
    "103": {"name": "张伟", "department": "民政局"},
}
RECORDER = "rec-demo"


@dataclass
class RunningHall:
    """Everything the demo started, stopped in reverse order whatever fails."""

    root: Path
    broker: MosquittoBroker
    stops: list[Callable[[], Any]] = field(default_factory=list)
    parts: dict[str, Any] = field(default_factory=dict)

    @property
    def broker_settings(self) -> BrokerSettings:
        return BrokerSettings(port=self.broker.port)

    def start_part(self, name: str, start: Callable[[], Any], stop: Callable[[Any], Any]) -> Any:
        """Start one part; a part that cannot start is reported and the hall goes on without it."""
        try:
            part = start()
        except Exception as exc:
            log.error("demo: %s did not start (%s); the rest of the hall runs without it", name, exc)
            return None
        self.parts[name] = part
        self.stops.append(lambda: stop(part))
        return part

    def stop(self) -> None:
        for stop in reversed(self.stops):
            try:
                stop()
            except Exception:  # stopping the rest matters more than one failure
                log.exception("demo: a component failed to stop")
        self.broker.stop()


def gateway_config(root: Path, port: int, video: dict[str, Any] | None = None) -> GatewayConfig:
    from edge.queue_kiosk.demo import demo_kiosk_devices
    from edge.window_caller.demo import demo_caller_devices

    devices = [
        {"id": "sim-01", "kind": "sim"},
        *demo_kiosk_devices(kiosks=2),
        *demo_caller_devices(windows=len(WINDOWS)),
        *({"id": f"rating-w{w}", "kind": "rating", "window": w} for w in WINDOWS),
        {"id": RECORDER, "kind": "recorder"},
    ]
    return GatewayConfig.model_validate(
        {
            "gateway": {"id": GATEWAY, "hall": HALL},
            "store_path": str(root / "gateway" / "gateway.sqlite"),
            "hall_broker": {"port": port},
            "central_broker": {"port": port},
            "uplink": {"heartbeat_s": 5},
            "devices": {"known": devices, "silence_s": 30},
            "ratings": {"officers": OFFICERS},
            **({"video": video} if video else {}),
        }
    )


def start_simulated_device(hall: RunningHall, stop: threading.Event) -> EdgeAgent:
    """A plain device: a numbered event and a routine reading every two seconds."""
    agent = EdgeAgent(
        AgentConfig.model_validate(
            {
                "device": {"id": "sim-01", "hall": HALL, "kind": "sim"},
                "broker": {"port": hall.broker.port},
                "outbox": {"path": str(hall.root / "sim-01" / "outbox.sqlite")},
                "uplink": {"heartbeat_s": 5},
            }
        )
    )
    agent.start()

    def produce() -> None:
        while not stop.wait(2.0):
            n = agent.outbox.last_pos + 1
            agent.record("sim.counter", {"n": n})
            agent.record("sim.reading", {"n": n, "value": 20.0 + n % 7})

    threading.Thread(target=produce, daemon=True, name="demo-sim-01").start()
    return agent


def start_hall(root: Path, http_port: int, stop: threading.Event) -> tuple[RunningHall, str]:
    from central.demo import start_demo_central
    from edge.camera_recorder.demo import start_demo_recorder
    from edge.queue_kiosk.demo import start_demo_queue
    from edge.rating_terminal.demo import start_demo_terminal
    from edge.window_caller.demo import start_demo_callers
    from hallwatch.demo_citizen import start_citizen_story
    from hallwatch.demo_video import DemoVideo

    broker = MosquittoBroker(BrokerOptions(free_port(), root / "broker"))
    broker.start()
    hall = RunningHall(root, broker)
    video = DemoVideo()  # the wall's path: recorder -> gateway -> central, each hop with its token
    central, url = start_demo_central(root, broker.port, http_port, [(HALL, GATEWAY)],
                                      video=video.central(HALL))
    hall.parts["central"] = central
    hall.stops.append(central.stop)
    hall.start_part("gateway", lambda: _started(GatewayService(gateway_config(root, broker.port,
                                                                              video.gateway(RECORDER)))),
                    lambda g: g.stop())
    settings = hall.broker_settings
    hall.start_part("sim-01", lambda: start_simulated_device(hall, stop), lambda a: a.stop())
    hall.start_part("queue", lambda: start_demo_queue(settings, HALL, root / "queue"), lambda q: q.stop())
    hall.start_part("callers", lambda: start_demo_callers(settings, HALL, root / "queue",
                                                          windows=len(WINDOWS)), lambda c: c.stop())
    for window in WINDOWS:
        hall.start_part(
            f"rating-w{window}",
            lambda w=window: start_demo_terminal(settings, HALL, w, root / f"rating-w{w}"),  # type: ignore[misc]
            lambda t: t.stop(),
        )
    hall.start_part(
        "recorder", lambda: start_demo_recorder(root / "recorder", settings, HALL, device_id=RECORDER,
                                                video=video.recorder()),
        lambda r: r.stop(),
    )
    hall.start_part("citizen", lambda: start_citizen_story(central, hall.parts.get("queue")),
                    lambda s: s.stop())
    return hall, url


def _started(service: GatewayService) -> GatewayService:
    service.start()
    return service


def summary(hall: RunningHall) -> dict[str, Any]:
    central: CentralService = hall.parts["central"]
    by_type = dict(central.store.query("SELECT type, count(*) FROM events GROUP BY type ORDER BY type"))
    report: dict[str, Any] = {
        "central": {
            "events_received": sum(by_type.values()),
            "events_by_type": by_type,
            "dead_letters": central.store.query("SELECT count(*) FROM dead_letters")[0][0],
        }
    }
    gateway: GatewayService | None = hall.parts.get("gateway")
    if gateway is not None:
        diagnostics = gateway.diagnostics()
        report["gateway"] = {
            "ingest": diagnostics["ingest"],
            "forward_backlog": diagnostics["forward_outbox"]["events_waiting"],
            "devices_online": sorted(d["device"] for d in diagnostics["devices"] if d["online"]),
        }
    for name in ("queue", "recorder"):
        if name in hall.parts:
            report[name] = hall.parts[name].summary()
    if "callers" in hall.parts:  # the officers' side of the queue: served, no-shows
        report.setdefault("queue", {}).update(hall.parts["callers"].summary())
    if "citizen" in hall.parts:  # one citizen's story: booked online, served, told by SMS
        report["citizen"] = hall.parts["citizen"].summary()
    report["ratings"] = {
        name: part.summary() for name, part in hall.parts.items() if name.startswith("rating-")
    }
    return report


def wait_for_forwarding(hall: RunningHall, timeout: float) -> None:
    gateway: GatewayService | None = hall.parts.get("gateway")
    deadline = time.monotonic() + timeout
    while gateway is not None and gateway.outbox.depth()[0] and time.monotonic() < deadline:
        gateway.outbox.wait_for_change(0.2)


class DemoRun:
    """The whole demo hall as one service: started at once, stopped in reverse order."""

    def __init__(self, root: Path, http_port: int, stop: threading.Event) -> None:
        self.root = root
        self.http_port = http_port
        self.stop_event = stop
        self.hall: RunningHall | None = None
        self.url = ""

    def start(self) -> None:
        self.hall, self.url = start_hall(self.root, self.http_port, self.stop_event)

    def stop(self) -> None:
        if self.hall is not None:
            self.hall.stop()

    def diagnostics(self) -> dict[str, Any]:
        return summary(self.hall) if self.hall is not None else {}


@click.command(name="demo")
@click.option("--duration", default=40.0, show_default=True, help="seconds of simulated traffic")
@click.option("--data-dir", type=click.Path(path_type=Path), help="keep the demo's files here")
@click.option("--http-port", default=8080, show_default=True, help="the big screen's port (0: any free)")
@click.option("--once", is_flag=True, help="exit after the summary instead of serving until Ctrl-C")
def demo(duration: float, data_dir: Path | None, http_port: int, once: bool) -> None:
    """Run a simulated hall end to end, print what central received and the big screen's URL."""
    root = data_dir or Path(tempfile.mkdtemp(prefix="hallwatch-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    if http_port == 0 or not _port_free(http_port):
        http_port = free_port()

    def show(run: DemoRun, stop: threading.Event) -> None:
        assert run.hall is not None
        click.echo(f"hallwatch demo: hall {HALL} running, data in {root}")
        click.echo(f"big screen: {run.url}")
        click.echo(f"citizens' public site: {run.hall.parts['central'].base_url}/public/")
        click.echo(f"video wall: {run.url.replace('/screen', '/wall', 1)}")
        click.echo(f"simulating {duration:.0f} s of citizens, officers, ratings and cameras...")
        stop.wait(duration)
        wait_for_forwarding(run.hall, 15)
        click.echo(json.dumps(run.diagnostics(), indent=2, ensure_ascii=False, default=str))
        click.echo(f"big screen: {run.url}")
        if not once and not stop.is_set():
            click.echo("the hall keeps running; press Ctrl-C to stop")
            stop.wait()

    stop = threading.Event()
    run_until_signal(lambda: DemoRun(root, http_port, stop), until=show, stop=stop)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
