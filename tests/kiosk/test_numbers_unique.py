"""Numbers never collide and never repeat within a day: several kiosks, restarts, the gateway up
or down, a day boundary. The hall's queue and central learn every ticket, exactly once."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from edge.queue_kiosk.kiosk import Issued, Kiosk
from edge.queue_kiosk.printer.sim import SimulatedPrinter
from spine.clock import SimulatedClock
from tests.kiosk.conftest import Hall, dead_port, kiosk_config
from tests.support import wait_until

SHANGHAI = ZoneInfo("Asia/Shanghai")


def issue(kiosk: Kiosk, service: str) -> Issued:
    outcome = kiosk.issue(service)
    assert isinstance(outcome, Issued), outcome
    return outcome


def test_two_kiosks_with_the_gateway_down_never_print_the_same_number_and_the_hall_learns_all_once(
    hall: Hall, tmp_path: Path, printer: SimulatedPrinter
) -> None:
    port = hall.broker.port
    east = Kiosk(kiosk_config(tmp_path, broker_port=port, printer_port=printer.port, device="kiosk-east",
                              slot=1, slots=2))
    west = Kiosk(kiosk_config(tmp_path, broker_port=port, printer_port=printer.port, device="kiosk-west",
                              slot=2, slots=2))
    east.start()
    west.start()
    try:
        labels = []
        for round in range(6):  # the gateway is not running: citizens keep pressing
            labels.append(issue(east, "A").label)
            labels.append(issue(west if round % 3 else east, "A").label)
        labels.append(issue(west, "B").label)
        assert len(labels) == len(set(labels)) == 13
        assert {label for label in labels if label.startswith("A")} >= {"A001", "A002", "A003"}
        printer.wait_for_jobs(13)

        hall.start_central()
        hall.start_gateway()  # the link returns: the hall's queue learns every ticket
        wait_until(lambda: hall.gateway_rows("SELECT count(*) FROM queue_visits")[0][0] == 13, 30,
                   "the gateway's queue to hold all 13 tickets")
        wait_until(lambda: hall.central_rows(
            "SELECT count(*) FROM events WHERE type = 'queue.ticket_issued'")[0][0] == 13, 30,
            "central to store all 13 tickets")
        # A second press after the outage, and resends of everything: still exactly once.
        issue(west, "A")
        wait_until(lambda: hall.central_rows("SELECT count(*) FROM queue_segments")[0][0] == 14, 30,
                   "central's statistics to count 14 visits")
        rows = hall.gateway_rows("SELECT ticket, kiosk FROM queue_visits ORDER BY ticket")
        assert len({ticket for ticket, _kiosk in rows}) == 14
        assert hall.gateway_rows("SELECT count(*) FROM events WHERE type = 'queue.anomaly'")[0][0] == 0
    finally:
        east.stop()
        west.stop()


def test_a_restarted_kiosk_carries_on_past_its_last_number(tmp_path: Path, printer: SimulatedPrinter) -> None:
    config = kiosk_config(tmp_path, broker_port=dead_port(), printer_port=printer.port)
    first = Kiosk(config)
    first.start()
    assert [issue(first, "A").label for _ in range(3)] == ["A001", "A002", "A003"]
    first.stop()
    second = Kiosk(config)
    second.start()
    try:
        assert issue(second, "A").label == "A004"
        assert issue(second, "B").label == "B001"
    finally:
        second.stop()


def test_numbers_restart_each_day_and_a_clock_falling_back_does_not_reuse_them(
    tmp_path: Path, printer: SimulatedPrinter
) -> None:
    evening = int(datetime(2026, 11, 26, 23, 59, tzinfo=SHANGHAI).timestamp() * 1000)
    clock = SimulatedClock(wall_ms=evening)
    kiosk = Kiosk(kiosk_config(tmp_path, broker_port=dead_port(), printer_port=printer.port), clock=clock)
    kiosk.start()
    try:
        assert (issue(kiosk, "A").label, issue(kiosk, "A").day) == ("A001", "2026-11-26")
        clock.advance(2 * 60_000)  # past midnight in the hall
        morning = issue(kiosk, "A")
        assert (morning.label, morning.day) == ("A001", "2026-11-27")
        clock.set_wall(evening)  # the Pi's clock falls back a day (no RTC, a bad NTP step)
        again = issue(kiosk, "A")
        assert (again.label, again.day) == ("A002", "2026-11-27")
    finally:
        kiosk.stop()


def test_a_replacement_kiosk_in_the_same_slot_starts_above_the_numbers_the_hall_has_seen(
    hall: Hall, tmp_path: Path, printer: SimulatedPrinter
) -> None:
    hall.start_gateway()
    port = hall.broker.port
    old = Kiosk(kiosk_config(tmp_path, broker_port=port, printer_port=printer.port, device="kiosk-old"))
    old.start()
    assert [issue(old, "A").label for _ in range(3)] == ["A001", "A002", "A003"]
    wait_until(lambda: old.agent.uplink.drained(), 30, "the old kiosk's tickets to reach the gateway")
    old.stop()  # its SD card dies; a fresh Pi takes its slot
    new = Kiosk(kiosk_config(tmp_path, broker_port=port, printer_port=printer.port, device="kiosk-new"))
    new.start()
    try:
        wait_until(lambda: new.diagnostics()["kiosk"]["board_day"] is not None, 30, "the hall board")
        assert issue(new, "A").label == "A004"
        anomalies = wait_until(lambda: hall.gateway_rows(
            "SELECT payload FROM events WHERE type = 'queue.anomaly'"), 30, "a slot conflict report")
        assert "slot_conflict" in anomalies[0][0]
    finally:
        new.stop()


def test_after_a_crash_numbering_resumes_above_the_durable_reservation_never_below(tmp_path: Path) -> None:
    from edge.queue_kiosk.store import RESERVE, KioskStore

    def allocate(store: KioskStore) -> int:
        _label, _number, index = store.allocate(
            "2026-11-26", "A", 0, lambda i: (f"A{i + 1:03d}", i + 1), issued_at=0, priority=False,
            appointment=None,
        )
        return index

    path = tmp_path / "kiosk.sqlite"
    crashed = KioskStore(path)
    assert [allocate(crashed) for _ in range(3)] == [0, 1, 2]
    # No close(): the process died. Cheap commits may be lost on a power cut; reservations are not.
    after_crash = KioskStore(path)
    assert allocate(after_crash) == RESERVE
    after_crash.close()
    after_clean_stop = KioskStore(path)
    assert allocate(after_clean_stop) == RESERVE + 1  # a clean stop leaves no gap
    after_clean_stop.close()
