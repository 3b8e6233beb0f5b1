"""Kiosk latency: from the press to the last byte of the ticket at the printer, gateway up and down.

`python -m bench.kiosk [presses]`.

Headline: each kiosk runs as its own `hall kiosk run` process, as on its Pi,
with the console keypad on stdin; the bench types `1 enter` and times until
the simulated TCP printer (in the bench process) holds the ticket's last byte
(printer mechanics excluded). Both clocks are the machine's CLOCK_MONOTONIC.
One kiosk's gateway runs (its own `hall gateway run` process); the other's
broker address leads nowhere. Beside them, in the same run and interleaved so
a neighbour's load hits all alike: python-escpos alone writing the same
ticket bytes over an open connection (the floor), and the GPIO path in
process on gpiozero's mock pins (which includes our 30 ms debounce settle).
Target (BRIEF): p99 at most 100 ms with the gateway up or down.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from edge.queue_kiosk.config import KioskConfig
from edge.queue_kiosk.kiosk import Kiosk
from edge.queue_kiosk.printer.sim import SimulatedPrinter
from spine.broker.runner import BrokerOptions, MosquittoBroker, free_port

HALL_NAME = "肃州区政务服务中心"


def _kiosk_toml(root: Path, name: str, broker_port: int, printer_port: int) -> Path:
    data = root / name
    data.mkdir(parents=True, exist_ok=True)
    path = root / f"{name}.toml"
    path.write_text(f"""
data_dir = "{data}"
[device]
id = "kiosk-{name}"
hall = "hall-01"
kind = "kiosk"
[broker]
port = {broker_port}
[outbox]
path = "{data}/outbox.sqlite"
[hall]
name = "{HALL_NAME}"
[[services]]
prefix = "A"
name = "社保医保"
windows = ["1"]
daily_limit = 99999
key = "1"
[printer]
kind = "network"
port = {printer_port}
[buttons]
repeat_guard_ms = 0
[keypad]
kind = "console"
keys = {{ "1" = "1", "enter" = "enter" }}
""", encoding="utf-8")
    return path


def _gateway_toml(root: Path, broker_port: int) -> Path:
    path = root / "gateway.toml"
    path.write_text(f"""
store_path = "{root}/gateway/gateway.sqlite"
[hall_broker]
port = {broker_port}
[central_broker]
port = {broker_port}
[devices]
open_enrolment = true
""", encoding="utf-8")
    return path


def _spawn(args: list[str], log: Path, stdin: bool = False) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hallwatch", "--log-level", "WARNING", *args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _one(printer: SimulatedPrinter, press: Callable[[], None], release: Callable[[], None]) -> float:
    before = printer.job_count()
    started = time.monotonic_ns()
    press()
    job = printer.wait_for_jobs(before + 1, timeout=20)[before]
    release()
    return (job.finished_ns - started) / 1e6


class ProcessKiosk:
    """`hall kiosk run` in its own process, typed at through its console keypad."""

    def __init__(self, root: Path, name: str, broker_port: int) -> None:
        self.printer = SimulatedPrinter().start()
        config = _kiosk_toml(root, name, broker_port, self.printer.port)
        self.process = _spawn(["kiosk", "run", "--config", str(config)], root / f"{name}.log", stdin=True)
        deadline = time.monotonic() + 30
        while self.printer.status_queries == 0:  # its first health check: it is up
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"kiosk {name} did not start: see {root / f'{name}.log'}")
            time.sleep(0.05)  # polling a process that is starting
        self.samples: list[float] = []

    def press(self) -> None:
        def type_keys() -> None:
            assert self.process.stdin is not None
            self.process.stdin.write(b"1 enter\n")
            self.process.stdin.flush()

        self.samples.append(_one(self.printer, type_keys, lambda: None))

    def close(self) -> None:
        _stop(self.process)
        self.printer.stop()


class GpioKiosk:
    """A kiosk in this process, pressed on gpiozero's mock pins (debounce settle included)."""

    def __init__(self, root: Path, broker_port: int) -> None:
        self.printer = SimulatedPrinter().start()
        self.factory = MockFactory()
        raw = _kiosk_toml(root, "gpio", broker_port, self.printer.port).read_text(encoding="utf-8")
        import tomllib

        data = tomllib.loads(raw)
        data.pop("keypad")
        data["services"][0]["button_pin"] = 17
        self.kiosk = Kiosk(KioskConfig.model_validate(data), pin_factory=self.factory)
        self.kiosk.start()
        self.pin = self.factory.pin(17)
        self.samples: list[float] = []

    def press(self) -> None:
        self.samples.append(_one(self.printer, self.pin.drive_low, self.pin.drive_high))

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
        from edge.queue_kiosk.ticket import Ticket, TicketLayout, qr_payload

        self.printer = SimulatedPrinter().start()
        settings = PrinterSettings.model_validate({"port": self.printer.port})
        layout = TicketLayout(settings, Letterer(discover_fonts(None), settings.dots))
        self.data = layout.render(Ticket(
            hall_name=HALL_NAME, service_name="社保医保", label="A001", people_ahead=3,
            ahead_is_estimate=False, issued_text="2026-11-26 09:30",
            qr_payload=qr_payload("hall-01", "2026-11-26", "A001", "kiosk-1"),
        ))
        self.escpos = Network("127.0.0.1", self.printer.port, timeout=5)
        self.escpos.open()
        self.samples: list[float] = []

    def press(self) -> None:
        self.samples.append(_one(self.printer, lambda: self.escpos._raw(self.data), lambda: None))

    def close(self) -> None:
        self.escpos.close()
        self.printer.stop()


def _percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    p99 = ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]
    return {"n": len(ordered), "p50": statistics.median(ordered), "p99": p99, "max": ordered[-1]}


def _row(label: str, samples: list[float]) -> tuple[str, float]:
    f = _percentiles(samples)
    return (f"{label:46} n={f['n']:4d}  p50 {f['p50']:7.2f} ms  p99 {f['p99']:7.2f} ms  "
            f"max {f['max']:7.2f} ms"), f["p99"]


def main() -> None:
    presses = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 200
    with tempfile.TemporaryDirectory(prefix="bench-kiosk-") as tmp:
        root = Path(tmp)
        broker = MosquittoBroker(BrokerOptions(free_port(), root / "broker"))
        broker.start()
        gateway = _spawn(["gateway", "run", "--config", str(_gateway_toml(root, broker.port))],
                         root / "gateway.log")
        rigs: list[object] = []
        try:
            baseline = Baseline()
            up = ProcessKiosk(root, "up", broker.port)
            down = ProcessKiosk(root, "down", free_port())  # nobody listens there: its gateway is down
            gpio = GpioKiosk(root, broker.port)
            rigs = [baseline, up, down, gpio]
            for _ in range(5):  # warm-up: first connections, first day, first reservation
                for rig in (baseline, up, down, gpio):
                    rig.press()  # type: ignore[attr-defined]
            for rig in (baseline, up, down, gpio):
                rig.samples.clear()  # type: ignore[attr-defined]
            for _ in range(presses):
                for rig in (baseline, up, down, gpio):
                    rig.press()  # type: ignore[attr-defined]
            load = os.getloadavg()[0]
        finally:
            for rig in rigs:
                rig.close()  # type: ignore[attr-defined]
            _stop(gateway)
            broker.stop()
    rows = [
        _row("baseline: python-escpos write, same bytes", baseline.samples),
        _row("kiosk process, gateway up: keys -> last byte", up.samples),
        _row("kiosk process, gateway down: keys -> last byte", down.samples),
        _row("in-process GPIO edge -> last byte (+30 ms settle)", gpio.samples),
    ]
    for text, _p99 in rows:
        print(text)
    worst = max(rows[1][1], rows[2][1])
    print(f"load average at the end: {load:.2f} on {os.cpu_count()} core(s)")
    print(f"target p99 <= 100 ms (kiosk processes, gateway up and down): "
          f"{'met' if worst <= 100 else 'MISSED'} (worst p99 {worst:.2f} ms)")


if __name__ == "__main__":
    main()
