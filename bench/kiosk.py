"""Kiosk latency: from the press to the last byte of the ticket at the printer, gateway up and down.

`python -m bench.kiosk [presses]`. The printer is the simulated TCP printer
(printer mechanics excluded); the press is a GPIO edge on gpiozero's mock
pins, so the figure includes our debounce settle time (30 ms by default), the
printer status query, the two durable commits (number, event) and rendering.
Beside it, in the same run: the baseline of python-escpos alone writing the
same ticket bytes over an open connection, and the keypad path (Enter key).
Target (BRIEF): p99 at most 100 ms with the gateway up or down.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from edge.queue_kiosk.config import KioskConfig
from edge.queue_kiosk.kiosk import Kiosk
from edge.queue_kiosk.printer.sim import SimulatedPrinter
from edge.runtime.keypad import SimulatedKeypad
from gateway.broker import BrokerOptions, MosquittoBroker, free_port
from gateway.config import GatewayConfig
from gateway.service import GatewayService

SERVICES = [
    {"prefix": "A", "name": "社保医保", "windows": ["1"], "daily_limit": 99999, "key": "1", "button_pin": 17},
]


def _config(root: Path, broker_port: int, printer_port: int, name: str) -> KioskConfig:
    return KioskConfig.model_validate({
        "device": {"id": f"kiosk-{name}", "hall": "hall-01", "kind": "kiosk"},
        "broker": {"port": broker_port},
        "outbox": {"path": str(root / name / "outbox.sqlite")},
        "data_dir": str(root / name),
        "hall": {"name": "肃州区政务服务中心"},
        "services": SERVICES,
        "printer": {"kind": "network", "port": printer_port},
        "buttons": {"repeat_guard_ms": 0},  # presses back to back; the guard is a citizen rule
    })


def _percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * len(ordered))) - 1)]
    return {"n": len(ordered), "p50": statistics.median(ordered), "p99": p99, "max": ordered[-1]}


def _one(printer: SimulatedPrinter, press: Callable[[], None], release: Callable[[], None]) -> float:
    before = printer.job_count()
    started = time.monotonic_ns()
    press()
    job = printer.wait_for_jobs(before + 1, timeout=10)[before]
    release()
    return (job.finished_ns - started) / 1e6


class Rig:
    """One kiosk with its own printer and mock pins, pressed by GPIO edge or keypad."""

    def __init__(self, root: Path, broker_port: int, name: str) -> None:
        self.printer = SimulatedPrinter().start()
        self.factory = MockFactory()
        self.keypad = SimulatedKeypad()
        self.kiosk = Kiosk(_config(root, broker_port, self.printer.port, name), keypad=self.keypad,
                           pin_factory=self.factory)
        self.kiosk.start()
        self.pin = self.factory.pin(17)
        self.samples: dict[str, list[float]] = {"gpio": [], "keypad": []}

    def press_gpio(self) -> None:
        self.samples["gpio"].append(_one(self.printer, self.pin.drive_low, self.pin.drive_high))

    def press_keys(self) -> None:
        def enter() -> None:
            self.keypad.press("1")
            self.keypad.press("enter")  # measured from the first key: the citizen's whole entry

        self.samples["keypad"].append(_one(self.printer, enter, lambda: None))

    def close(self) -> None:
        self.kiosk.stop()
        self.printer.stop()
        self.factory.reset()


class Baseline:
    """python-escpos alone: the same ticket bytes, built beforehand, over an open connection."""

    def __init__(self) -> None:
        from escpos.printer import Network

        from edge.queue_kiosk.config import PrinterSettings
        from edge.queue_kiosk.lettering import Letterer, discover_fonts
        from edge.queue_kiosk.ticket import Ticket, TicketLayout

        self.printer = SimulatedPrinter().start()
        settings = PrinterSettings(port=self.printer.port)
        layout = TicketLayout(settings, Letterer(discover_fonts(None), settings.dots))
        self.data = layout.render(Ticket(
            "肃州区政务服务中心", "社保医保", "A001", 3, False, "2026-11-26 09:30",
            "HW1|hall-01|20261126|A001|k",
        ))
        self.escpos = Network("127.0.0.1", self.printer.port, timeout=5)
        self.escpos.open()
        self.samples: list[float] = []

    def press(self) -> None:
        self.samples.append(_one(self.printer, lambda: self.escpos._raw(self.data), lambda: None))

    def close(self) -> None:
        self.escpos.close()
        self.printer.stop()


def _row(label: str, figures: dict[str, float]) -> str:
    return (f"{label:44} n={figures['n']:4d}  p50 {figures['p50']:7.2f} ms  p99 {figures['p99']:7.2f} ms  "
            f"max {figures['max']:7.2f} ms")


def main() -> None:
    presses = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 200
    with tempfile.TemporaryDirectory(prefix="bench-kiosk-") as tmp:
        root = Path(tmp)
        broker = MosquittoBroker(BrokerOptions(free_port(), root / "broker"))
        broker.start()
        gateway = GatewayService(GatewayConfig.model_validate({
            "hall_broker": {"port": broker.port}, "central_broker": {"port": broker.port},
            "store_path": str(root / "gateway.sqlite"), "devices": {"open_enrolment": True},
        }))
        gateway.start()
        baseline = Baseline()
        up = Rig(root, broker.port, "up")
        down = Rig(root, free_port(), "down")  # nobody listens: the gateway is down for this kiosk
        try:
            # Interleaved in small blocks, so a neighbour's load on this machine hits all alike.
            for _ in range(max(1, presses // 10)):
                for _ in range(10):
                    baseline.press()
                    for rig in (up, down):
                        rig.press_gpio()
                        rig.press_keys()
            drained = up.kiosk.agent.uplink.wait_drained(30)
        finally:
            for closing in (up, down, baseline):
                closing.close()
            gateway.stop()
            broker.stop()
    print(_row("baseline: python-escpos write, same bytes", _percentiles(baseline.samples)))
    worst = 0.0
    for state, rig in (("up", up), ("down", down)):
        for path, label in (("gpio", "GPIO edge"), ("keypad", "keypad '1' Enter")):
            figures = _percentiles(rig.samples[path])
            worst = max(worst, figures["p99"])
            print(_row(f"kiosk, gateway {state}: {label} -> last byte", figures))
    print(f"gateway-up kiosk's tickets all acknowledged by the gateway: {drained}")
    print(f"load average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} core(s)")
    print(f"target p99 <= 100 ms: {'met' if worst <= 100 else 'MISSED'} (worst p99 {worst:.2f} ms; "
          "GPIO figures include the 30 ms debounce settle)")


if __name__ == "__main__":
    main()
