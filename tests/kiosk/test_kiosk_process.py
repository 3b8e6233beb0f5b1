"""`hall kiosk run` as a real process: killed with -9 it never repeats a number, and a number it
committed but never saw confirmed by the printer is voided when it starts again, never called."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from edge.queue_kiosk.printer.sim import SimulatedPrinter
from edge.queue_kiosk.printer.stream import text_lines
from edge.window_caller.caller import WindowCaller
from tests.kiosk.conftest import Hall, caller_config, dead_port
from tests.kiosk.test_window_calling import press as call
from tests.support import wait_until


def kiosk_toml(root: Path, printer_port: int, broker_port: int | None = None, printer: str = "") -> Path:
    path = root / "kiosk.toml"
    path.write_text(f"""
data_dir = "{root}/kiosk"
[device]
id = "kiosk-1"
hall = "hall-01"
kind = "kiosk"
[broker]
port = {broker_port or dead_port()}
[outbox]
path = "{root}/kiosk/outbox.sqlite"
[[services]]
prefix = "A"
name = "社保医保"
key = "1"
[printer]
kind = "network"
port = {printer_port}
{printer}
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


def test_a_kiosk_killed_before_the_printer_confirmed_a_ticket_voids_it_on_restart_and_it_is_never_called(
    hall: Hall, tmp_path: Path, printer: SimulatedPrinter
) -> None:
    hall.start_gateway()
    # The printer takes the ticket and then hangs: the kiosk waits for the reply after the cut.
    config = kiosk_toml(tmp_path, printer.port, hall.broker.port, "confirm_timeout_ms = 30000")
    printer.hang_on_ticket = True
    first = start(config, tmp_path / "kiosk.log")
    try:
        wait_until(lambda: printer.status_queries > 0, 30, "the kiosk to start")
        assert first.stdin is not None
        first.stdin.write(b"1 enter\n")
        first.stdin.flush()
        wait_until(lambda: printer.hung, 30, "the ticket at the printer")
        wait_until(lambda: hall.gateway_rows("SELECT ticket, state FROM queue_visits")
                   == [("A001", "waiting")], 30, "A001 waiting in the hall queue")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    printer.hang_on_ticket = False
    printer.restart()
    caller = WindowCaller(caller_config(tmp_path, broker_port=hall.broker.port, window="1"))
    caller.start()
    second = start(config, tmp_path / "kiosk.log")
    try:
        wait_until(lambda: hall.gateway_rows("SELECT state FROM queue_visits WHERE ticket = 'A001'")
                   == [("voided",)], 30, "A001 voided when the kiosk started again")
        assert call(caller, "7", "login")["ok"]
        assert not call(caller, "call_next")["ok"]  # nobody waits: A001 is never called
    finally:
        caller.stop()
        second.terminate()
        second.wait(20)
