"""Press to ticket, with the real python-escpos writing to a TCP printer that records the bytes."""

from __future__ import annotations

from pathlib import Path

from edge.queue_kiosk.kiosk import Issued, Kiosk
from edge.queue_kiosk.printer.sim import SimulatedPrinter
from edge.queue_kiosk.printer.stream import Kind, images, qr_payloads, text_lines
from edge.queue_kiosk.ticket import parse_qr
from tests.kiosk.conftest import dead_port, kiosk_config


def test_a_press_prints_hall_service_number_people_ahead_time_qr_and_cut(
    tmp_path: Path, printer: SimulatedPrinter
) -> None:
    kiosk = Kiosk(kiosk_config(tmp_path, broker_port=dead_port(), printer_port=printer.port))
    kiosk.start()
    try:
        first = kiosk.issue("A")
        second = kiosk.issue("A")
    finally:
        kiosk.stop()
    assert isinstance(first, Issued) and isinstance(second, Issued)
    jobs = printer.wait_for_jobs(2)
    lines = text_lines(jobs[1].tokens)
    assert lines[0] == "肃州区政务服务中心"
    assert "社保医保" in lines
    assert "A002" in lines
    assert "前面约有 1 人等候" in lines  # the gateway is unreachable: an estimate, said so
    assert any(line.startswith(second.day) for line in lines)
    [qr] = qr_payloads(jobs[1].tokens)
    assert parse_qr(qr) == {"hall": "hall-01", "day": second.day, "ticket": "A002", "kiosk": "kiosk-1"}
    assert jobs[1].tokens[-1].kind is Kind.CUT
    assert not images(jobs[1].tokens)  # all of it is GBK-safe text


def test_a_service_name_with_a_four_byte_character_is_printed_as_an_image(
    tmp_path: Path, printer: SimulatedPrinter
) -> None:
    services = [{"prefix": "A", "name": "𠀾字户籍¥", "windows": ["1"], "daily_limit": 10}]
    kiosk = Kiosk(kiosk_config(tmp_path, broker_port=dead_port(), printer_port=printer.port,
                               services=services))
    kiosk.start()
    try:
        assert isinstance(kiosk.issue("A"), Issued)
    finally:
        kiosk.stop()
    [job] = printer.wait_for_jobs(1)
    assert len(images(job.tokens)) == 1
    assert "A001" in text_lines(job.tokens)
    # Neither the rare character nor the yen sign went out as GB18030 bytes a GBK printer garbles.
    assert "𠀾".encode("gb18030") not in job.raw
    assert "¥".encode("gb18030") not in job.raw
