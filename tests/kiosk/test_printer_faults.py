"""A kiosk never hands out a number it cannot print: it says why, reports once, and recovers alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.events.queue import PrinterState, RefusalReason
from edge.queue_kiosk.kiosk import Issued, Kiosk, Refused
from edge.queue_kiosk.printer.sim import SimulatedPrinter
from edge.runtime.hardware.indicator import ConsoleIndicator, LampState, SimulatedIndicator
from tests.kiosk.conftest import Hall, dead_port, kiosk_config
from tests.support import wait_until


@pytest.fixture
def kiosk(tmp_path: Path, printer: SimulatedPrinter) -> Iterator[Kiosk]:
    instance = Kiosk(kiosk_config(tmp_path, broker_port=dead_port(), printer_port=printer.port),
                     indicator=ConsoleIndicator())
    instance.start()
    yield instance
    instance.stop()


def recorded(kiosk: Kiosk, type: str) -> list[dict]:
    rows = kiosk.agent.outbox.database.query(
        "SELECT payload FROM outbox WHERE type = ? ORDER BY pos", (type,))
    return [json.loads(payload)["body"] for (payload,) in rows]


def tickets_recorded(kiosk: Kiosk) -> list[str]:
    return [body["ticket"] for body in recorded(kiosk, "queue.ticket_issued")]


@pytest.mark.parametrize(
    ("fault", "state", "words"),
    [
        ("paper_out", PrinterState.PAPER_OUT, "out of paper"),
        ("cover_open", PrinterState.COVER_OPEN, "cover is open"),
        ("mute", PrinterState.OFFLINE, "not answering"),
    ],
)
def test_a_printer_fault_refuses_tickets_with_a_reason_reports_once_and_recovers(
    kiosk: Kiosk, printer: SimulatedPrinter, fault: str, state: PrinterState, words: str
) -> None:
    assert isinstance(kiosk.issue("A"), Issued)
    printer.wait_for_jobs(1)  # on paper before the fault strikes
    setattr(printer, fault, True)
    for _ in range(3):
        refused = kiosk.issue("A")
        assert isinstance(refused, Refused)
        assert refused.reason is RefusalReason.PRINTER
        assert words in refused.detail
    assert any(words in line for line in kiosk.indicator.lines)  # type: ignore[attr-defined]
    # Polls keep seeing the fault: still one report of it.
    wait_until(lambda: printer.status_queries > 20, 10, "more health polls")
    assert [s["state"] for s in recorded(kiosk, "queue.printer_status")] == [state]

    setattr(printer, fault, False)
    wait_until(lambda: kiosk.printer.current and kiosk.printer.current.state is PrinterState.READY,
               10, "the printer to be seen ready again")
    assert isinstance(kiosk.issue("A"), Issued)
    assert [s["state"] for s in recorded(kiosk, "queue.printer_status")] == [state, PrinterState.READY]
    # No number was spent on the refused presses.
    assert tickets_recorded(kiosk) == ["A001", "A002"]
    assert len(printer.wait_for_jobs(2)) == 2


def test_the_lamps_say_out_of_service_and_a_refused_press_beeps_twice(
    tmp_path: Path, printer: SimulatedPrinter
) -> None:
    panel = SimulatedIndicator(["ready", "fault"])
    kiosk = Kiosk(kiosk_config(tmp_path, broker_port=dead_port(), printer_port=printer.port), indicator=panel)
    kiosk.start()
    try:
        wait_until(lambda: panel.lamp_state("ready") is LampState.ON, 10, "the ready lamp")
        panel.assert_lamps(ready="on", fault="off")
        printer.paper_out = True
        assert isinstance(kiosk.issue("A"), Refused)
        panel.assert_lamps(ready="off", fault="blink")
        assert panel.beeps == 2 and panel.lines[-1].startswith("no ticket: ")
        printer.paper_out = False
        wait_until(lambda: panel.lamp_state("ready") is LampState.ON, 10, "the ready lamp again")
        panel.assert_lamps(ready="on", fault="off")
    finally:
        kiosk.stop()


def test_an_unplugged_printer_is_offline_and_found_again_when_plugged_back(
    kiosk: Kiosk, printer: SimulatedPrinter
) -> None:
    assert isinstance(kiosk.issue("B"), Issued)
    printer.wait_for_jobs(1)
    printer.unplug()
    refused = kiosk.issue("B")
    assert isinstance(refused, Refused) and refused.reason is RefusalReason.PRINTER
    printer.plug()
    wait_until(lambda: kiosk.printer.current and kiosk.printer.current.printable, 10, "printer back")
    assert isinstance(kiosk.issue("B"), Issued)
    assert tickets_recorded(kiosk) == ["B001", "B002"]
    states = [s["state"] for s in recorded(kiosk, "queue.printer_status")]
    assert states == [PrinterState.OFFLINE, PrinterState.READY]


def test_a_printer_that_never_answers_costs_a_press_no_more_than_the_status_timeout(
    kiosk: Kiosk, printer: SimulatedPrinter
) -> None:
    import time

    printer.mute = True
    started = time.monotonic()
    refused = kiosk.issue("A")
    elapsed = time.monotonic() - started
    assert isinstance(refused, Refused)
    # status_timeout_ms is 200 in these configurations: python-escpos alone would wait 60 s.
    assert elapsed < 1.5


def test_paper_near_end_still_prints_and_is_reported(kiosk: Kiosk, printer: SimulatedPrinter) -> None:
    printer.near_end = True
    assert isinstance(kiosk.issue("A"), Issued)
    wait_until(lambda: recorded(kiosk, "queue.printer_status"), 10, "a near-end report")
    assert [s["state"] for s in recorded(kiosk, "queue.printer_status")] == [PrinterState.NEAR_END]


class FailingWrites:
    """A printer that answers its status fine but drops the connection when the ticket goes out."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.fail = True

    def print_ticket(self, data: bytes):  # type: ignore[no-untyped-def]
        from edge.queue_kiosk.printer.link import PrinterUnavailable

        if self.fail:
            raise PrinterUnavailable("connection reset while printing")
        return self.inner.print_ticket(data)  # type: ignore[attr-defined]

    def health(self):  # type: ignore[no-untyped-def]
        return self.inner.health()  # type: ignore[attr-defined]

    def close(self) -> None:
        self.inner.close()  # type: ignore[attr-defined]


def test_a_print_that_fails_voids_its_number_which_is_never_reused(
    tmp_path: Path, printer: SimulatedPrinter
) -> None:
    from edge.queue_kiosk.printer.link import open_link

    config = kiosk_config(tmp_path, broker_port=dead_port(), printer_port=printer.port)
    link = FailingWrites(open_link(config.printer))
    kiosk = Kiosk(config, link=link)  # type: ignore[arg-type]
    kiosk.start()
    try:
        refused = kiosk.issue("A")
        assert isinstance(refused, Refused) and refused.reason is RefusalReason.PRINTER
        assert [v["ticket"] for v in recorded(kiosk, "queue.ticket_voided")] == ["A001"]
        link.fail = False
        wait_until(lambda: kiosk.printer.current and kiosk.printer.current.printable, 10, "printer back")
        issued = kiosk.issue("A")
        assert isinstance(issued, Issued) and issued.label == "A002"
    finally:
        kiosk.stop()


def test_the_hall_queue_never_calls_a_voided_number(
    hall: Hall, tmp_path: Path, printer: SimulatedPrinter
) -> None:
    from edge.queue_kiosk.printer.link import open_link
    from edge.window_caller.caller import WindowCaller
    from tests.kiosk.conftest import caller_config
    from tests.kiosk.test_window_calling import press

    hall.start_gateway()
    config = kiosk_config(tmp_path, broker_port=hall.broker.port, printer_port=printer.port)
    link = FailingWrites(open_link(config.printer))
    kiosk = Kiosk(config, link=link)  # type: ignore[arg-type]
    kiosk.start()
    caller = WindowCaller(caller_config(tmp_path, broker_port=hall.broker.port, window="1"))
    caller.start()
    try:
        assert isinstance(kiosk.issue("A"), Refused)
        link.fail = False
        assert isinstance(kiosk.issue("A"), Issued)
        wait_until(lambda: hall.gateway_rows("SELECT state FROM queue_visits ORDER BY ticket")
                   == [("voided",), ("waiting",)], 30, "A001 voided and A002 waiting at the gateway")
        assert press(caller, "7", "login")["ok"]
        assert press(caller, "call_next")["current"]["ticket"] == "A002"
    finally:
        caller.stop()
        kiosk.stop()
