"""Simulated kiosks for `hall demo`: citizens press service keys and take printed tickets.

The lead's demo calls `start_demo_queue(broker, hall, data_dir)` once the
hall's gateway runs (with `demo_kiosk_devices()` among its known devices,
or open enrolment; the `[queue]` section's defaults suit the demo), and
`.stop()` at the end; `.summary()` says what happened. Each kiosk prints
through the real python-escpos network backend to its own simulated printer.
The officers who call the tickets are `edge.window_caller.demo`'s.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.queue_kiosk.config import KioskConfig
from edge.queue_kiosk.kiosk import Issued, Kiosk
from edge.queue_kiosk.printer.sim import SimulatedPrinter
from edge.queue_kiosk.printer.stream import text_lines
from edge.runtime.demo import agent_sections
from edge.runtime.hardware.keys import SimulatedKeypad
from spine.config import BrokerSettings

log = logging.getLogger(__name__)

# Daily limits for a demo that runs all day: at the hall demo's pace (a citizen every ~20 s,
# services chosen 5:3:2:1) each lasts about twelve hours, a whole working day and more.
DEMO_SERVICES: list[dict[str, Any]] = [
    {"prefix": "A", "name": "社保医保", "windows": ["1", "2"], "daily_limit": 1000, "key": "1"},
    {"prefix": "B", "name": "户籍办理", "windows": ["2"], "daily_limit": 600, "key": "2"},
    {"prefix": "C", "name": "老年证办理", "windows": ["1", "3"], "daily_limit": 400, "key": "3"},
    {"prefix": "G", "name": "重大项目绿色通道", "windows": ["3"], "daily_limit": 200, "priority": True,
     "key": "4"},
]
SERVICE_WEIGHTS = [5, 3, 2, 1]
"""How often citizens choose each of DEMO_SERVICES."""


def demo_kiosk_devices(kiosks: int = 2) -> list[dict[str, Any]]:
    """Entries for the gateway's `[devices] known` list."""
    return [{"id": f"kiosk-{n}", "kind": "kiosk"} for n in range(1, kiosks + 1)]


@dataclass
class DemoQueue:
    kiosks: list[Kiosk]
    keypads: list[SimulatedKeypad]
    printers: list[SimulatedPrinter]
    stop_event: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=10)
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
            "last_ticket": last,
        }


def start_demo_queue(
    broker: BrokerSettings,
    hall: str,
    data_dir: Path,
    *,
    kiosks: int = 2,
    press_every_s: float = 3.0,
    seed: int = 1,
    slots: int | None = None,
    opening_queue: int = 0,
) -> DemoQueue:
    """Start `kiosks` kiosks; citizens take tickets on their own thread, one every
    `press_every_s` or so, after `opening_queue` who were waiting for the doors to open.

    `slots`: the hall's kiosk slots (default one per kiosk); more leaves numbers to others.
    """
    rng = random.Random(seed)
    demo = DemoQueue([], [], [])
    for n in range(1, kiosks + 1):
        printer = SimulatedPrinter().start()
        config = KioskConfig.model_validate({
            **agent_sections(broker, hall, f"kiosk-{n}", "kiosk", data_dir),
            "hall": {"name": "酒泉市政务服务中心"},
            "numbering": {"slot": n, "slots": slots or kiosks},
            "services": DEMO_SERVICES,
            "printer": {"kind": "network", "port": printer.port},
        })
        keypad = SimulatedKeypad(f"kiosk-{n}-keys")
        kiosk = Kiosk(config, keypad=keypad)
        kiosk.start()
        demo.kiosks.append(kiosk)
        demo.keypads.append(keypad)
        demo.printers.append(printer)
    demo.threads.append(threading.Thread(target=_citizens, args=(demo, rng, press_every_s, opening_queue),
                                         name="demo-citizens", daemon=True))
    for thread in demo.threads:
        thread.start()
    return demo


def _citizens(demo: DemoQueue, rng: random.Random, every_s: float, opening_queue: int) -> None:
    """Citizens take numbers: most press a digit and Enter on the keypad, some a service button."""
    arrived = 0
    while not demo.stop_event.wait(rng.uniform(0.5, 1.5) * (every_s if arrived >= opening_queue
                                                            else min(every_s, 1.0))):
        arrived += 1
        index = rng.randrange(len(demo.kiosks))
        service = rng.choices(DEMO_SERVICES, weights=SERVICE_WEIGHTS)[0]
        if rng.random() < 0.7:
            demo.keypads[index].press(service["key"])
            demo.keypads[index].press("enter")
        else:
            outcome = demo.kiosks[index].issue(service["prefix"])
            if not isinstance(outcome, Issued):
                log.info("demo: no ticket: %s", outcome.detail)
