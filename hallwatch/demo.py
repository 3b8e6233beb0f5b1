"""`hall demo`: a simulated hall on embedded defaults, end to end on this machine, telling its story.

One Mosquitto, central (API, countdown engine, big screen), the hall gateway,
and simulated devices: two ticket kiosks printing through python-escpos to
simulated printers, a window caller per window with its officer, a rating
terminal per window whose citizens rate when armed, a camera recorder with two
ffmpeg test-pattern cameras, and a plain simulated device. Everything lives
under one data directory (a temp dir by default) and talks over loopback.

The terminal shows the pages' addresses in a box, then the hall's story, one
line per meaningful event (`hallwatch.demo_story`); the full log goes to
`demo.log` in the data directory. Central opens on a day already under way:
cases in every light (`central.demo`) and the hall's morning of visits and
ratings (`hallwatch.demo_history`). Citizens come at a believable pace, so the
demo can run all day; Ctrl-C stops the devices first and the broker last.
"""

from __future__ import annotations

import json
import logging
import socket
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from central.service import CentralService
from edge.runtime.agent import AgentConfig, EdgeAgent
from gateway.config import GatewayConfig
from gateway.service import GatewayService
from hallwatch.logsetup import configure_logging
from spine.broker.runner import BrokerOptions, MosquittoBroker, free_port
from spine.config import BrokerSettings
from spine.service import run_until_signal

log = logging.getLogger(__name__)

HALL = "hall-01"
GATEWAY = "gw-hall-01"
WINDOWS = ("1", "2", "3")
OFFICERS = {  # the queue demo logs officer 10N in at window N; the same names hold the cases there
    "101": {"name": "李明", "department": "民政局"},
    "102": {"name": "王芳", "department": "人社局"},
    "103": {"name": "赵强", "department": "市场监管局"},
}
RECORDER = "rec-demo"

PAGES: list[tuple[str, str]] = [
    # One line per page of central worth opening (label, path); the box prints them all.
    ("big screen", "/screen"),
    ("performance", "/performance"),
    ("video wall", "/wall"),
    ("public site", "/public/"),
]


@dataclass(frozen=True)
class Pace:
    """How fast the demo hall lives. Real time: a citizen every ~20 s, ~40 s at a window, so a
    queue forms and clears and the services' daily limits last all day; tests compress it."""

    citizen_every_s: float = 20.0
    serve_s: float = 40.0
    opening_queue: int = 6
    """Citizens already waiting when the demo opens, so the windows have work at once."""


KIOSKS = 2
KIOSK_SLOTS = KIOSKS + 1
"""The hall's numbering has a slot more than the running kiosks: the morning's tickets used it."""


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
        """Devices first, then the gateway and central, the broker last: nobody loses the broker
        while it still has something to say."""
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
        *demo_kiosk_devices(kiosks=KIOSKS),
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


def start_gateway_with_its_morning(root: Path, port: int, video: dict[str, Any] | None = None
                                   ) -> GatewayService:
    """The hall's gateway, which first states the visits of the day so far (the seeded day)."""
    from edge.queue_kiosk.demo import DEMO_SERVICES
    from hallwatch.demo_history import Officer, plan_day, state_day

    gateway = GatewayService(gateway_config(root, port, video))
    gateway.start()
    officers = {window: Officer(f"10{window}", **OFFICERS[f"10{window}"]) for window in WINDOWS}
    visits = plan_day(gateway.clock.wall_ms(), DEMO_SERVICES, officers, slot=KIOSK_SLOTS, slots=KIOSK_SLOTS)
    log.info("demo: the gateway states %d events of the day's %d earlier visits",
             state_day(gateway, visits), len(visits))
    return gateway


def start_hall(root: Path, http_port: int, stop: threading.Event, pace: Pace = Pace()
               ) -> tuple[RunningHall, str]:
    from central.demo import start_demo_central
    from edge.camera_recorder.demo import start_demo_recorder
    from edge.queue_kiosk.demo import start_demo_queue
    from edge.rating_terminal.demo import start_demo_terminal
    from edge.window_caller.demo import start_demo_callers
    from hallwatch.demo_citizen import start_citizen_story
    from hallwatch.demo_video import DemoVideo

    broker = MosquittoBroker(BrokerOptions(free_port(), root / "broker", own_session=True))
    broker.start()
    hall = RunningHall(root, broker)
    video = DemoVideo()  # the wall's path: recorder -> gateway -> central, each hop with its token
    central, url = start_demo_central(root, broker.port, http_port, [(HALL, GATEWAY)],
                                      video=video.central(HALL))
    hall.parts["central"] = central
    hall.stops.append(central.stop)
    hall.start_part("gateway",
                    lambda: start_gateway_with_its_morning(root, broker.port, video.gateway(RECORDER)),
                    lambda g: g.stop())
    settings = hall.broker_settings
    hall.start_part("sim-01", lambda: start_simulated_device(hall, stop), lambda a: a.stop())
    hall.start_part("queue", lambda: start_demo_queue(
        settings, HALL, root / "queue", kiosks=KIOSKS, slots=KIOSK_SLOTS,
        press_every_s=pace.citizen_every_s, opening_queue=pace.opening_queue), lambda q: q.stop())
    hall.start_part("callers", lambda: start_demo_callers(
        settings, HALL, root / "queue", windows=len(WINDOWS), serve_s=pace.serve_s), lambda c: c.stop())
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


def wait_for_every_device(hall: RunningHall, timeout: float, stop: threading.Event) -> None:
    """Until every device the gateway knows has come online (cameras take a while to start on a
    busy machine), so the first summary speaks of the whole hall; at most `timeout` s."""
    gateway: GatewayService | None = hall.parts.get("gateway")
    deadline = time.monotonic() + timeout
    while gateway is not None and time.monotonic() < deadline:
        devices = gateway.diagnostics()["devices"]
        if devices and all(device["online"] for device in devices):
            return
        if stop.wait(0.2):  # presence has no change signal to wait on; Ctrl-C ends the wait
            return


def wait_for_forwarding(hall: RunningHall, timeout: float) -> None:
    gateway: GatewayService | None = hall.parts.get("gateway")
    deadline = time.monotonic() + timeout
    while gateway is not None and gateway.outbox.depth()[0] and time.monotonic() < deadline:
        gateway.outbox.wait_for_change(0.2)


class DemoRun:
    """The whole demo hall as one service: started at once, stopped in reverse order."""

    def __init__(self, root: Path, http_port: int, stop: threading.Event, pace: Pace = Pace()) -> None:
        self.root = root
        self.http_port = http_port
        self.stop_event = stop
        self.pace = pace
        self.hall: RunningHall | None = None
        self.url = ""

    def start(self) -> None:
        self.hall, self.url = start_hall(self.root, self.http_port, self.stop_event, self.pace)

    def stop(self) -> None:
        if self.hall is not None:
            self.hall.stop()

    def diagnostics(self) -> dict[str, Any]:
        return summary(self.hall) if self.hall is not None else {}

    def page_urls(self) -> list[tuple[str, str]]:
        """Every page of PAGES, each with the viewer token the big screen's URL carries."""
        base, _, query = self.url.partition("/screen")
        # The citizens' public site needs no token: a citizen's address carries none.
        return [(label, f"{base}{path}{'' if path.startswith('/public') else query}")
                for label, path in PAGES]


def box(lines: list[str]) -> str:
    """Lines in a frame, sized by what a terminal shows (a Han character takes two columns)."""
    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

    inner = max(width(text) for text in lines)
    rows = [f"│ {text}{' ' * (inner - width(text))} │" for text in lines]
    return "\n".join([f"┌{'─' * (inner + 2)}┐", *rows, f"└{'─' * (inner + 2)}┘"])


def hall_so_far(report: dict[str, Any]) -> str:
    """One line of what the demo did, for people (the JSON report is `--once`'s)."""
    queue = report.get("queue", {})
    ratings = sum(r.get("given", 0) for r in report.get("ratings", {}).values())
    central = report["central"]
    return (f"so far: {queue.get('tickets_printed', 0)} tickets printed, {queue.get('served', 0)} served, "
            f"{queue.get('no_shows', 0)} no-shows, {ratings} rated; central has "
            f"{central['events_received']} events, {central['dead_letters']} refused; "
            f"{len(report.get('gateway', {}).get('devices_online', []))} devices online")


@click.command(name="demo")
@click.option("--duration", default=40.0, show_default=True,
              help="seconds of the story before the summary (with --once: before the hall stops)")
@click.option("--data-dir", type=click.Path(path_type=Path), help="keep the demo's files here")
@click.option("--http-port", default=8080, show_default=True, help="the big screen's port (0: any free)")
@click.option("--once", is_flag=True, help="stop after --duration and print the summary as JSON")
def demo(duration: float, data_dir: Path | None, http_port: int, once: bool) -> None:
    """Run a simulated hall end to end: the pages' addresses, then the hall's story, until Ctrl-C."""
    from hallwatch.demo_story import Story

    root = data_dir or Path(tempfile.mkdtemp(prefix="hallwatch-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    logfile = root / "demo.log"
    # The terminal tells the story and real problems; the log file keeps everything.
    level = logging.getLevelName(min(logging.getLogger().level or logging.INFO, logging.INFO))
    configure_logging(level, file=logfile, console_level="WARNING")
    if http_port == 0:
        http_port = free_port()
    elif not _port_free(http_port):
        busy, http_port = http_port, free_port()
        click.echo(f"port {busy} is busy (another demo or central?): the pages are on port {http_port}")

    def show(run: DemoRun, stop: threading.Event) -> None:
        assert run.hall is not None
        urls = run.page_urls()
        click.echo(box([f"hallwatch demo: hall {HALL} is open, on this machine", "",
                        *(f"{label:<12} {url}" for label, url in urls), "",
                        f"data         {root}", f"full log     {logfile}",
                        "Ctrl-C stops the hall" if not once else f"it stops after {duration:.0f} s"]))
        story = Story(run.hall.parts["central"], click.echo, since_ms=int(time.time() * 1000),
                      officers=OFFICERS)
        story.start()
        try:
            stop.wait(duration)
            wait_for_every_device(run.hall, 30, stop)
            wait_for_forwarding(run.hall, 15)
            story.tell_news()
            if once:
                click.echo(json.dumps(run.diagnostics(), indent=2, ensure_ascii=False, default=str))
                click.echo(f"the hall has stopped; its files stay in {root} (the pages are closed)")
                return
            click.echo(hall_so_far(run.diagnostics()))
            click.echo(box(["the hall keeps running; the story goes on", "",
                            *(f"{label:<12} {url}" for label, url in urls), "",
                            "Ctrl-C stops the hall"]))
            stop.wait()
            stopping.append(time.monotonic())
            click.echo("stopping: the devices, then the gateway and central, the broker last ...")
        finally:
            story.stop()

    stopping: list[float] = []
    stop = threading.Event()
    run_until_signal(lambda: DemoRun(root, http_port, stop), until=show, stop=stop)
    if stopping:
        click.echo(f"stopped in {time.monotonic() - stopping[0]:.1f} s; the files stay in {root}")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
