"""`hall kiosk run` as a real process: killed with -9 between tickets, it never repeats a number."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from edge.queue_kiosk.printer.sim import SimulatedPrinter
from edge.queue_kiosk.printer.stream import text_lines
from tests.kiosk.conftest import dead_port
from tests.support import wait_until


def kiosk_toml(root: Path, printer_port: int) -> Path:
    path = root / "kiosk.toml"
    path.write_text(f"""
data_dir = "{root}/kiosk"
[device]
id = "kiosk-1"
hall = "hall-01"
kind = "kiosk"
[broker]
port = {dead_port()}
[outbox]
path = "{root}/kiosk/outbox.sqlite"
[[services]]
prefix = "A"
name = "社保医保"
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


def start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "hallwatch", "kiosk", "run", "--config", str(config)],
                                stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
                                env=dict(os.environ, PYTHONUNBUFFERED="1"))


def press(process: subprocess.Popen[bytes], printer: SimulatedPrinter, count: int) -> None:
    assert process.stdin is not None
    for _ in range(count):
        before = printer.job_count()
        process.stdin.write(b"1 enter\n")
        process.stdin.flush()
        printer.wait_for_jobs(before + 1, timeout=30)


def labels(printer: SimulatedPrinter) -> list[str]:
    return [next(line for line in text_lines(job.tokens) if line.startswith("A")) for job in printer.jobs]


def test_a_kiosk_killed_between_tickets_restarts_past_every_number_it_printed(
    tmp_path: Path, printer: SimulatedPrinter
) -> None:
    config = kiosk_toml(tmp_path, printer.port)
    first = start(config, tmp_path / "kiosk.log")
    try:
        wait_until(lambda: printer.status_queries > 0, 30, "the kiosk to start")
        press(first, printer, 3)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    second = start(config, tmp_path / "kiosk.log")
    try:
        press(second, printer, 2)
    finally:
        second.terminate()
        second.wait(20)
    printed = labels(printer)
    assert printed[:3] == ["A001", "A002", "A003"]
    assert len(set(printed)) == 5
    # After a kill the kiosk resumes above its durable reservation: a gap, never a repeat.
    assert all(int(later[1:]) > 3 for later in printed[3:])
    assert int(printed[4][1:]) == int(printed[3][1:]) + 1
