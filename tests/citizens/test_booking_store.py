"""The bookings at central's store, the same specification on SQLite and on PostgreSQL: room per slot,
per officer's day and per phone's day, cancellation with the phone's last four digits, a kiosk's
ticket checking a booking in inside the transaction that stores it, no-shows once the hall's facts
are complete, the hash-chained log, and the phone kept sealed until erased."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from central.booking.checkins import BookingCheckIns
from central.booking.store import BookingProblem, BookingStore, Limits, NewBooking
from central.cases.timebase import parse_instant
from central.personal import vault
from central.personal.subjects import booking_subject
from central.store import CentralStore
from spine.clock import SimulatedClock
from spine.storeurl import StoreUrl
from tests.central.events import deliver

HALL = "hall-01"
NOW = parse_instant("2026-11-23T10:05") * 1000
LIMITS = Limits(per_slot=2, per_day=4, per_phone_per_day=2)
CITIZEN = "13811110002"


def ms(text: str) -> int:
    return parse_instant(text) * 1000


def booking(slot: str, phone: str = CITIZEN, *, day: str = "2026-11-23", officer: str = "101") -> NewBooking:
    return NewBooking(hall=HALL, day=day, slot=slot, starts_at=ms(f"{day}T{slot}"),
                      ends_at=ms(f"{day}T{slot}") + 1_800_000, department="市场监管局", matter_id="scjg-spjy",
                      matter="食品经营许可", service="A", officer=officer, officer_name="王小明", window="1",
                      phone=phone)


@pytest.fixture
def store(store_url: StoreUrl) -> Iterator[CentralStore]:
    store = CentralStore(store_url, SimulatedClock(NOW))
    yield store
    store.close()


@pytest.fixture
def bookings(store: CentralStore) -> BookingStore:
    bookings = BookingStore(store)
    store.handlers.append(BookingCheckIns(bookings))
    return bookings


def test_a_slot_an_officers_day_and_a_phones_day_each_take_only_so_many(bookings: BookingStore) -> None:
    bookings.book(booking("11:00", "13800000001"), LIMITS, NOW)
    bookings.book(booking("11:00", "13800000002"), LIMITS, NOW)
    with pytest.raises(BookingProblem, match="已约满"):
        bookings.book(booking("11:00", "13800000003"), LIMITS, NOW)
    bookings.book(booking("13:30", CITIZEN), LIMITS, NOW)
    bookings.book(booking("14:00", "+86 138-1111-0002"), LIMITS, NOW)
    with pytest.raises(BookingProblem, match="每天最多预约2次"):
        bookings.book(booking("14:30", CITIZEN, officer="102"), LIMITS, NOW)
    with pytest.raises(BookingProblem, match="已约满"):
        bookings.book(booking("15:00", "13800000004"), LIMITS, NOW)  # the officer's day is full
    assert bookings.taken(HALL, "101", "2026-11-23") == {"11:00": 2, "13:30": 1, "14:00": 1}
    assert sorted(row.slot for row in bookings.on_list(HALL, "2026-11-23")) == [
        "11:00", "11:00", "13:30", "14:00"]
    assert bookings.days_from(HALL, "2026-11-23") == ["2026-11-23"]
    assert bookings.verify()["ok"] and bookings.log_head() == 4


def test_a_booking_is_cancelled_only_with_its_phones_last_four_digits_and_only_before_it_begins(
        bookings: BookingStore) -> None:
    code = bookings.book(booking("11:00"), LIMITS, NOW)
    with pytest.raises(BookingProblem, match="后四位不正确"):
        bookings.cancel(code, "9999", NOW)
    with pytest.raises(BookingProblem, match="已开始"):
        bookings.cancel(code, "0002", ms("2026-11-23T11:00"))
    cancelled = bookings.cancel(code, "0002", NOW)
    assert (cancelled.state, cancelled.closed_at) == ("cancelled", NOW)
    with pytest.raises(BookingProblem, match="已取消"):
        bookings.cancel(code, "0002", NOW)
    assert bookings.taken(HALL, "101", "2026-11-23") == {}
    assert [s.type for s in bookings.steps_after(0, ("booking.confirmed", "booking.cancelled"), 10)] == [
        "booking.confirmed", "booking.cancelled"]
    assert bookings.figures("2026-11-23", "2026-11-24") == {"市场监管局": {"cancelled": 1}}


def test_the_kiosks_ticket_checks_a_booking_in_and_one_never_taken_is_a_no_show_once_the_hall_is_known(
        store: CentralStore, bookings: BookingStore) -> None:
    taken = bookings.book(booking("11:00"), LIMITS, NOW)
    missed = bookings.book(booking("13:30", "13922223333"), LIMITS, NOW)
    deliver(store, HALL, [("queue.ticket_issued", {"day": "2026-11-23", "ticket": "A007", "service": "A",
                                                   "appointment": taken}, ms("2026-11-23T10:50"))])
    deliver(store, "hall-02", [("queue.ticket_issued", {"day": "2026-11-23", "ticket": "A001", "service": "A",
                                                        "appointment": missed}, ms("2026-11-23T13:20"))])
    row = bookings.get(taken)
    assert row is not None and (row.state, row.ticket) == ("checked_in", "A007")
    assert bookings.count_no_shows("2026-11-24", lambda _hall: None, NOW) == []  # the hall not yet known
    assert bookings.count_no_shows("2026-11-24", lambda _hall: ms("2026-11-24T00:00"), NOW) == [missed]
    assert bookings.count_no_shows("2026-11-24", lambda _hall: ms("2026-11-24T00:00"), NOW) == []
    assert bookings.figures("2026-11-23", "2026-11-24") == {"市场监管局": {"checked_in": 1, "no_show": 1}}
    # Settled before the cut-off: the no-show (counted now), not the check-in (at 10:50).
    assert bookings.closed_before(NOW + 1) == [missed]
    assert sorted(bookings.closed_before(ms("2026-11-23T11:00"))) == sorted([taken, missed])


def test_the_phone_is_kept_sealed_opened_for_the_notice_and_gone_once_erased(
        store: CentralStore, bookings: BookingStore) -> None:
    code = bookings.book(booking("11:00"), LIMITS, NOW)
    assert CITIZEN not in str(bookings.steps_after(0, ("booking.confirmed",), 10))
    assert bookings.phone(code) == CITIZEN
    with store.statements() as tx:
        vault.erase(tx, [booking_subject(code)], actor="retention", reason="retention", now_ms=NOW)
    assert bookings.phone(code) is None
    assert bookings.verify()["ok"]  # the chain still verifies: the sealed text never changed
