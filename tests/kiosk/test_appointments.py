"""Online appointments: central sends the hall its bookings; a code at the kiosk gives a priority
ticket that the booked officer calls first."""

from __future__ import annotations

import json
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from contract.events.queue import RefusalReason
from edge.queue_kiosk.kiosk import Issued, Kiosk, Refused
from edge.queue_kiosk.printer.sim import SimulatedPrinter
from edge.queue_kiosk.printer.stream import text_lines
from edge.runtime.hardware.keys import SimulatedKeypad
from edge.window_caller.caller import WindowCaller
from gateway.queue.appointments import appointments_command, central_topic
from tests.kiosk.conftest import HALL, Hall, caller_config, kiosk_config
from tests.kiosk.test_window_calling import press
from tests.support import wait_until


def send_from_central(port: int, day: str, bookings: list[dict]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="central-test")
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.publish(central_topic(HALL), appointments_command(day, bookings), qos=1).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


def test_an_appointment_code_typed_at_the_kiosk_gives_a_priority_ticket_called_by_the_booked_officer(
    hall: Hall, tmp_path: Path, printer: SimulatedPrinter
) -> None:
    hall.start_gateway()
    keypad = SimulatedKeypad()
    kiosk = Kiosk(kiosk_config(tmp_path, broker_port=hall.broker.port, printer_port=printer.port),
                  keypad=keypad)
    kiosk.start()
    caller = WindowCaller(caller_config(tmp_path, broker_port=hall.broker.port, window="2"))
    caller.start()
    try:
        day = kiosk.today()
        send_from_central(hall.broker.port, day, [
            {"code": "246810", "service": "A", "officer": "9"},
            {"code": "135790", "service": "B", "officer": "9"},
        ])
        wait_until(lambda: kiosk.store.appointment("246810"), 30, "the kiosk to receive the bookings")
        for _ in range(2):
            assert isinstance(kiosk.issue("A"), Issued)  # walk-ins A001, A002

        for key in "246810":
            keypad.press(key)
        keypad.press("enter")
        [*_, job] = printer.wait_for_jobs(3)
        lines = text_lines(job.tokens)
        assert "A003" in lines and "预约号 246810" in lines and "预约" in lines

        again = kiosk.redeem("246810")
        assert isinstance(again, Refused) and "already used" in again.detail
        unknown = kiosk.redeem("999999")
        assert isinstance(unknown, Refused) and unknown.reason is RefusalReason.APPOINTMENT

        wait_until(lambda: hall.gateway_rows("SELECT count(*) FROM queue_visits")[0][0] == 3, 30, "tickets")
        assert press(caller, "9", "login")["ok"]
        # Officer 9 booked: the appointment goes before the two walk-ins who came earlier.
        assert press(caller, "call_next")["current"]["ticket"] == "A003"
        redeemed = hall.gateway_rows("SELECT redeemed_ticket FROM queue_appointments WHERE code = '246810'")
        assert redeemed == [("A003",)]
    finally:
        caller.stop()
        kiosk.stop()


def test_a_code_redeemed_at_one_kiosk_is_refused_at_another_once_the_gateway_says_so(
    hall: Hall, tmp_path: Path, printer: SimulatedPrinter
) -> None:
    hall.start_gateway()
    port = hall.broker.port
    east = Kiosk(kiosk_config(tmp_path, broker_port=port, printer_port=printer.port, device="kiosk-east",
                              slot=1, slots=2))
    west = Kiosk(kiosk_config(tmp_path, broker_port=port, printer_port=printer.port, device="kiosk-west",
                              slot=2, slots=2))
    east.start()
    west.start()
    try:
        send_from_central(port, east.today(), [{"code": "112233", "service": "A"}])
        wait_until(lambda: east.store.appointment("112233") and west.store.appointment("112233"), 30,
                   "both kiosks to receive the booking")
        assert isinstance(east.redeem("112233"), Issued)
        wait_until(lambda: hall.gateway_rows(
            "SELECT redeemed_ticket FROM queue_appointments WHERE code = '112233'") == [("A001",)], 30,
            "the gateway to record the redemption")
        # Central resends the day's list (a routine refresh): the gateway keeps the redemption.
        send_from_central(port, east.today(), [{"code": "112233", "service": "A"}])
        wait_until(lambda: (west.store.appointment("112233") or _never()).redeemed_ticket == "A001", 30,
                   "the other kiosk to learn it was used")
        refused = west.redeem("112233")
        assert isinstance(refused, Refused) and "A001" in refused.detail
    finally:
        east.stop()
        west.stop()


def _never() -> object:
    raise AssertionError("booking vanished")


def test_the_kiosk_stores_no_personal_data_from_bookings(tmp_path: Path) -> None:
    payload = json.loads(appointments_command("2026-11-26", [{"code": "123456", "service": "A"}]))
    assert set(payload["appointments"][0]) == {"code", "service", "officer", "window", "not_before",
                                               "not_after"}
