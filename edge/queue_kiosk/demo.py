"""Simulated kiosks and window callers for `hall demo`: citizens press, officers call and serve.

The lead's demo calls `start_demo_queue(broker, hall, data_dir)` once the
hall's gateway runs (with `demo_gateway_devices()` among its known devices,
or open enrolment; the `[queue]` section's defaults suit the demo), and
`.stop()` at the end; `.summary()` says what happened. Each kiosk prints
through the real python-escpos network backend to its own simulated printer.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.queue_kiosk.caller import WindowCaller
from edge.queue_kiosk.config import CallerConfig, KioskConfig
from edge.queue_kiosk.kiosk import Issued, Kiosk
from edge.queue_kiosk.printer.sim import SimulatedPrinter
from edge.queue_kiosk.printer.stream import text_lines
from edge.runtime.hardware.keys import SimulatedKeypad
from spine.config import BrokerSettings

log = logging.getLogger(__name__)

DEMO_SERVICES: list[dict[str, Any]] = [
    {"prefix": "A", "name": "社保医保", "windows": ["1", "2"], "daily_limit": 500, "key": "1"},
    {"prefix": "B", "name": "户籍办理", "windows": ["2"], "daily_limit": 300, "key": "2"},
    {"prefix": "C", "name": "老年证办理", "windows": ["1", "3"], "daily_limit": 200, "key": "3"},
    {"prefix": "G", "name": "重大项目绿色通道", "windows": ["3"], "daily_limit": 50, "priority": True,
     "key": "4"},
]
TRANSFER_KEYS = {"1": "A", "2": "B", "3": "C"}


def demo_gateway_devices(kiosks: int = 2, windows: int = 3) -> list[dict[str, Any]]:
    """Entries for the gateway's `[devices] known` list."""
    return ([{"id": f"kiosk-{n}", "kind": "kiosk"} for n in range(1, kiosks + 1)]
            + [{"id": f"caller-{w}", "kind": "caller", "window": str(w)} for w in range(1, windows + 1)])


def _agent_sections(broker: BrokerSettings, hall: str, device: str, kind: str, root: Path) -> dict[str, Any]:
    return {
        "device": {"id": device, "hall": hall, "kind": kind},
        "broker": broker.model_dump(mode="json", exclude_none=True),
        "outbox": {"path": str(root / device / "outbox.sqlite")},
        "uplink": {"heartbeat_s": 5.0, "ack_timeout_s": 5.0},
        "data_dir": str(root / device),
    }


@dataclass
class DemoQueue:
    kiosks: list[Kiosk]
    keypads: list[SimulatedKeypad]
    printers: list[SimulatedPrinter]
    callers: list[WindowCaller]
    stop_event: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    served: int = 0
    no_shows: int = 0

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=10)
        for caller in self.callers:
            caller.stop()
        for kiosk in self.kiosks:
            kiosk.stop()
        for printer in self.printers:
            printer.stop()

    def summary(self) -> dict[str, Any]:
        last = None
        for printer in self.printers:
            if printer.jobs:
                last = text_lines(printer.jobs[-1].tokens)
        return {
            "tickets_printed": sum(p.job_count() for p in self.printers),
            "refused": sum(k.counters["refused"] for k in self.kiosks),
            "served": self.served,
            "no_shows": self.no_shows,
            "last_ticket": last,
        }


def start_demo_queue(
    broker: BrokerSettings,
    hall: str,
    data_dir: Path,
    *,
    kiosks: int = 2,
    windows: int = 3,
    press_every_s: float = 3.0,
    serve_s: float = 4.0,
    seed: int = 1,
) -> DemoQueue:
    """Start `kiosks` kiosks and a caller per window; citizens and officers act on their own threads."""
    rng = random.Random(seed)
    demo = DemoQueue([], [], [], [])
    for n in range(1, kiosks + 1):
        printer = SimulatedPrinter().start()
        config = KioskConfig.model_validate({
            **_agent_sections(broker, hall, f"kiosk-{n}", "kiosk", data_dir),
            "hall": {"name": "酒泉市政务服务中心"},
            "numbering": {"slot": n, "slots": kiosks},
            "services": DEMO_SERVICES,
            "printer": {"kind": "network", "port": printer.port},
        })
        keypad = SimulatedKeypad(f"kiosk-{n}-keys")
        kiosk = Kiosk(config, keypad=keypad)
        kiosk.start()
        demo.kiosks.append(kiosk)
        demo.keypads.append(keypad)
        demo.printers.append(printer)
    for w in range(1, windows + 1):
        caller = WindowCaller(CallerConfig.model_validate({
            **_agent_sections(broker, hall, f"caller-{w}", "caller", data_dir),
            "caller": {"window": str(w), "transfer_keys": TRANSFER_KEYS},
        }))
        caller.start()
        demo.callers.append(caller)
    demo.threads.append(threading.Thread(target=_citizens, args=(demo, rng, press_every_s),
                                         name="demo-citizens", daemon=True))
    for w, caller in enumerate(demo.callers, start=1):
        demo.threads.append(threading.Thread(
            target=_officer, args=(demo, caller, f"{100 + w}", random.Random(seed + w), serve_s),
            name=f"demo-window-{w}", daemon=True))
    for thread in demo.threads:
        thread.start()
    return demo


def _citizens(demo: DemoQueue, rng: random.Random, every_s: float) -> None:
    """Citizens take numbers: most press a digit and Enter on the keypad, some a service button."""
    while not demo.stop_event.wait(rng.uniform(0.5, 1.5) * every_s):
        index = rng.randrange(len(demo.kiosks))
        service = rng.choices(DEMO_SERVICES, weights=[5, 3, 2, 1])[0]
        if rng.random() < 0.7:
            demo.keypads[index].press(service["key"])
            demo.keypads[index].press("enter")
        else:
            outcome = demo.kiosks[index].issue(service["prefix"])
            if not isinstance(outcome, Issued):
                log.info("demo: no ticket: %s", outcome.detail)


def _officer(demo: DemoQueue, caller: WindowCaller, officer: str, rng: random.Random, serve_s: float) -> None:
    """An officer logs in, then calls, serves and sometimes recalls, parks or transfers."""
    def act(*keys: str) -> dict[str, Any] | None:
        request = None
        for key in keys:
            request = caller.key(key)
        return caller.wait_reply(request, 10) if request else None

    while not demo.stop_event.is_set() and not (act(*officer, "login") or {}).get("ok"):
        demo.stop_event.wait(2)
    while not demo.stop_event.wait(rng.uniform(0.5, 1.5) * serve_s):
        reply = act("call_next") or {}
        if not reply.get("ok"):
            continue
        roll = rng.random()
        if roll < 0.1:
            act("recall")
            demo.stop_event.wait(serve_s / 2)
            act("no_show")
            demo.no_shows += 1
            continue
        if roll < 0.2:
            phone = "13" + "".join(str(rng.randrange(10)) for _ in range(9))
            act(*phone, "enter")  # the caller shows and logs it masked
        if roll > 0.95:
            act(rng.choice(list(TRANSFER_KEYS)), "transfer")
            continue
        demo.stop_event.wait(serve_s)
        if (act("complete") or {}).get("ok"):
            demo.served += 1
