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


def test_outside_opening_hours_and_past_the_daily_limit_no_number_is_spent(
    tmp_path: Path, printer: SimulatedPrinter
) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from contract.events.queue import RefusalReason
    from edge.queue_kiosk.kiosk import Refused
    from spine.clock import SimulatedClock

    morning = int(datetime(2026, 11, 26, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp() * 1000)
    clock = SimulatedClock(wall_ms=morning)
    services = [{"prefix": "A", "name": "社保医保", "daily_limit": 2},
                {"prefix": "C", "name": "老年证办理", "hours": ["14:00-17:30"]}]
    config = kiosk_config(tmp_path, broker_port=dead_port(), printer_port=printer.port, services=services,
                          hall={"hours": ["08:30-12:00", "14:00-17:30"], "open_days": [1, 2, 3, 4, 5]})
    kiosk = Kiosk(config, clock=clock)
    kiosk.start()
    try:
        early = kiosk.issue("A")  # 08:00, a Thursday: not open yet
        assert isinstance(early, Refused) and early.reason is RefusalReason.CLOSED
        clock.advance(60 * 60_000)  # 09:00
        assert [kiosk.issue("A").label for _ in range(2)] == ["A001", "A002"]  # type: ignore[union-attr]
        full = kiosk.issue("A")
        assert isinstance(full, Refused) and full.reason is RefusalReason.DAILY_LIMIT
        afternoon_only = kiosk.issue("C")
        assert isinstance(afternoon_only, Refused) and afternoon_only.reason is RefusalReason.CLOSED
        clock.advance(5 * 60 * 60_000)  # 14:00
        assert kiosk.issue("C").label == "C001"  # type: ignore[union-attr]
    finally:
        kiosk.stop()
    assert printer.wait_for_jobs(3)


def test_a_file_printer_gets_the_same_ticket_and_is_never_asked_for_status(tmp_path: Path) -> None:
    from edge.queue_kiosk.printer.stream import parse

    device = tmp_path / "lp0"
    config = kiosk_config(tmp_path, broker_port=dead_port(), printer_port=9100,
                          printer={"kind": "file", "file_path": str(device), "status_query": False})
    kiosk = Kiosk(config)
    kiosk.start()
    try:
        assert isinstance(kiosk.issue("B"), Issued)
        assert kiosk.diagnostics()["kiosk"]["printer"]["state"] == "unknown"
    finally:
        kiosk.stop()
    tokens = parse(device.read_bytes())
    assert "B001" in text_lines(tokens) and "户籍办理" in text_lines(tokens)
    assert tokens[-1].kind is Kind.CUT
