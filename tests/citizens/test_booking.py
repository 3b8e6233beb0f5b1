"""Online booking at central: a code, an SMS, a place on the hall's list; capacity, cancellation,
the list again when the hall comes back, check-in from the kiosk's ticket, no-shows.

Central runs on a hand-set clock: Monday 2026-11-23 10:05, a working day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from central.booking import BookingDesk, BookingRefused
from central.cases.timebase import parse_instant
from central.service import CentralService
from spine.broker.runner import MosquittoBroker
from spine.clock import SimulatedClock
from tests.central.events import deliver
from tests.citizens.conftest import CITIZEN, HALL, HOUR_MS, texts_to
from tests.citizens.mqtt import HallLink
from tests.support import wait_until

MONDAY = date(2026, 11, 23)
OTHER = "13800007777"


def ms(text: str) -> int:
    return parse_instant(text) * 1000


@pytest.fixture
def desk(central: CentralService) -> BookingDesk:
    assert central.citizens.desk is not None
    return central.citizens.desk


@pytest.fixture
def hall(broker: MosquittoBroker) -> Iterator[HallLink]:
    link = HallLink(broker.port, HALL)
    yield link
    link.close()


def book(desk: BookingDesk, slot: str, phone: str = CITIZEN, day: date = MONDAY, matter: str = "scjg-spjy",
         officer: str = "101") -> str:
    return desk.book(desk.choice(matter, HALL, officer), day, slot, phone).code


def test_a_booking_gets_a_code_an_sms_and_a_place_on_the_halls_list(
        central: CentralService, desk: BookingDesk, hall: HallLink) -> None:
    choice = desk.choice("scjg-spjy", HALL, "101")
    offered = [o.slot.label for o in desk.offers(choice, MONDAY)]
    assert offered[0] == "11:00"  # 10:05 now: a slot closes 30 minutes before it starts
    receipt = desk.book(choice, MONDAY, "11:00", "+86 139 1234 5678")
    assert len(receipt.code) == 6 and receipt.code.isdigit()
    assert (receipt.hall_name, receipt.window, receipt.officer_name) == ("市政务服务中心", "1", "王小明")

    [text] = texts_to(central, CITIZEN, 1, "the booking's SMS")
    assert text == ("【酒泉市政务服务中心】您已预约2026年11月23日11:00办理“食品经营许可”，"
                    f"预约码{receipt.code}，请按时到市政务服务中心凭预约码取号。回复TD退订")
    [listed] = wait_until(lambda: hall.lists("2026-11-23"), 10, "the hall's list")
    assert listed == [{"code": receipt.code, "service": "A", "officer": "101", "window": "1",
                       "not_before": ms("2026-11-23T10:30"), "not_after": ms("2026-11-23T12:00")}]
    assert CITIZEN not in str(hall.commands)  # only codes reach the hall


def test_a_slot_takes_its_capacity_and_a_phone_two_bookings_a_day(desk: BookingDesk) -> None:
    book(desk, "11:00", "13800000001")
    book(desk, "11:00", "13800000002")
    with pytest.raises(BookingRefused, match="已约满"):
        book(desk, "11:00", "13800000003")
    book(desk, "13:30", OTHER)
    book(desk, "14:00", OTHER, matter="scjg-yyzz")
    with pytest.raises(BookingRefused, match="每天最多预约2次"):
        book(desk, "14:30", OTHER)
    with pytest.raises(BookingRefused, match="手机号"):
        book(desk, "15:00", "0937-1234567")
    with pytest.raises(BookingRefused, match="约满或已过预约时间"):
        book(desk, "10:00", "13800000004")  # already past
    with pytest.raises(BookingRefused, match="不可预约"):
        desk.choice("scjg-spjy", HALL, "102")  # 李娜 does not handle this matter


def test_a_booking_is_cancelled_only_with_the_last_four_digits_of_its_phone(
        central: CentralService, desk: BookingDesk, hall: HallLink) -> None:
    code = book(desk, "11:00")
    wait_until(lambda: hall.lists("2026-11-23"), 10, "the hall's list")
    with pytest.raises(BookingRefused, match="不正确"):
        desk.cancel(code, "0000")
    with pytest.raises(BookingRefused, match="不正确"):
        desk.cancel("000000" if code != "000000" else "000001", "5678")
    assert desk.cancel(code, "5678").state == "cancelled"
    _, cancelled = texts_to(central, CITIZEN, 2, "the cancellation's SMS")
    assert cancelled == ("【酒泉市政务服务中心】您2026年11月23日11:00办理“食品经营许可”的预约"
                         f"（预约码{code}）已取消。回复TD退订")
    with pytest.raises(BookingRefused, match="已取消"):
        desk.cancel(code, "5678")
    wait_until(lambda: hall.lists("2026-11-23")[-1] == [], 10, "the emptied list")
    free = {o.slot.label: o.free for o in desk.offers(desk.choice("scjg-spjy", HALL, "101"), MONDAY)}
    assert free["11:00"] == 2
    assert central.citizens.bookings.verify()["ok"]


def test_a_hall_whose_gateway_comes_online_gets_its_lists_again(desk: BookingDesk, hall: HallLink) -> None:
    code = book(desk, "11:00")
    tomorrow = book(desk, "09:00", OTHER, day=date(2026, 11, 24))
    wait_until(lambda: hall.lists("2026-11-23") and hall.lists("2026-11-24"), 10, "the first lists")
    hall.online()
    wait_until(lambda: len(hall.lists("2026-11-23")) == 2 and len(hall.lists("2026-11-24")) == 2, 10,
               "every list from today on, again")
    assert [b["code"] for b in hall.lists("2026-11-23")[-1]] == [code]
    assert [b["code"] for b in hall.lists("2026-11-24")[-1]] == [tomorrow]


def test_the_kiosks_ticket_checks_a_booking_in_and_a_booking_never_taken_is_a_no_show(
        central: CentralService, desk: BookingDesk, clock: SimulatedClock) -> None:
    came, missed = book(desk, "11:00"), book(desk, "11:30", OTHER)
    ticket = {"ticket": "A007", "day": "2026-11-23", "service": "A", "service_name": "社保医保", "number": 7,
              "slot": 1, "priority": True, "appointment": came, "booked_officer": "101", "booked_window": "1",
              "people_ahead": 0, "issued_at": ms("2026-11-23T10:50")}
    deliver(central.store, HALL, [("queue.ticket_issued", ticket, ms("2026-11-23T10:50"))], device="kiosk-1",
            author={"kind": "kiosk"})
    bookings = central.citizens.bookings
    assert (bookings.get(came).state, bookings.get(came).ticket) == ("checked_in", "A007")  # type: ignore[union-attr]

    clock.advance(20 * HOUR_MS)  # Tuesday 06:05, the hall not heard from since Monday 10:50
    central.tick()
    assert bookings.get(missed).state == "confirmed"  # type: ignore[union-attr]  # facts may be on their way
    central.watermarks.heartbeat(HALL, {"outbox_events": 0, "at": clock.wall_ms()})
    central.tick()
    assert bookings.get(missed).state == "no_show"  # type: ignore[union-attr]
    [row] = central.citizens.site.figures.month("2026-11")
    assert (row.department, row.booked, row.checked_in, row.no_shows) == ("市场监管局", 2, 1, 1)


def test_a_bookings_phone_is_erased_on_the_citizens_request_and_by_the_retention_rule(
        central: CentralService, desk: BookingDesk, clock: SimulatedClock) -> None:
    mine, other = book(desk, "11:00"), book(desk, "11:30", OTHER)
    desk.cancel(other, OTHER[-4:])
    bookings = central.citizens.bookings
    report = central.eraser.erase_phone("139-1234-5678", actor="office")
    assert f"booking:{mine}" in report.subjects and bookings.phone(mine) is None
    assert bookings.phone(other) == OTHER  # another citizen's number stays
    assert bookings.get(mine).state == "confirmed"  # type: ignore[union-attr]  # the booking stands
    clock.advance(181 * 24 * HOUR_MS)  # [privacy] erase_after_days = 180 after it closed
    assert f"booking:{other}" in central.eraser.erase_due().subjects
    assert bookings.phone(other) is None and bookings.verify()["ok"]
