"""A serial ticket printer over a pseudo-terminal pair (socat): tickets and DLE EOT status."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.events.queue import RefusalReason
from edge.queue_kiosk.kiosk import Issued, Kiosk, Refused
from edge.queue_kiosk.printer.sim import SerialSimulatedPrinter
from edge.queue_kiosk.printer.stream import qr_payloads, text_lines
from tests.kiosk.conftest import dead_port, kiosk_config

pytestmark = pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")


@pytest.fixture
def serial_pair(tmp_path: Path) -> Iterator[tuple[str, str]]:
    kiosk_end, printer_end = tmp_path / "kiosk-tty", tmp_path / "printer-tty"
    ends = [f"pty,raw,echo=0,link={kiosk_end}", f"pty,raw,echo=0,link={printer_end}"]
    socat = subprocess.Popen(["socat", *ends], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not (kiosk_end.exists() and printer_end.exists()):
        assert time.monotonic() < deadline, "socat did not create the pseudo-terminals"
        time.sleep(0.02)  # polling for socat's links
    yield str(kiosk_end), str(printer_end)
    socat.terminate()
    socat.wait(10)


def test_a_serial_printer_prints_tickets_and_reports_paper_out(
    tmp_path: Path, serial_pair: tuple[str, str]
) -> None:
    kiosk_end, printer_end = serial_pair
    printer = SerialSimulatedPrinter(printer_end).start()
    config = kiosk_config(tmp_path, broker_port=dead_port(), printer_port=9100,
                          printer={"kind": "serial", "serial_device": kiosk_end, "baudrate": 115200,
                                   "status_timeout_ms": 300})
    kiosk = Kiosk(config)
    kiosk.start()
    try:
        assert isinstance(kiosk.issue("A"), Issued)
        [job] = printer.wait_for_jobs(1)
        assert "A001" in text_lines(job.tokens) and "社保医保" in text_lines(job.tokens)
        assert qr_payloads(job.tokens)[0].endswith("|A001|kiosk-1")
        printer.paper_out = True
        refused = kiosk.issue("A")
        assert isinstance(refused, Refused) and refused.reason is RefusalReason.PRINTER
        assert "out of paper" in refused.detail
    finally:
        kiosk.stop()
        printer.stop()
