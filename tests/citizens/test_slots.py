"""Booking slots, pure: the day's slots around the break, what is still free, which days."""

from __future__ import annotations

from datetime import date, datetime, time

from central.booking.settings import BookingHours
from central.booking.slots import HALL_TIME, booking_days, day_slots, offers


def test_a_day_is_cut_into_slots_that_skip_the_lunch_break_and_end_by_closing() -> None:
    labels = [slot.label for slot in day_slots(BookingHours())]
    assert labels[:3] == ["09:00", "09:30", "10:00"] and labels[-1] == "17:00"
    assert "12:00" not in labels and "13:00" not in labels and "13:30" in labels
    odd = day_slots(BookingHours(slot_minutes=45, break_from=None, break_until=None, closes=time(11, 0)))
    assert [s.label for s in odd] == ["09:00", "09:45"]  # 10:30-11:15 would end after closing


def test_a_slot_is_offered_while_it_has_room_the_officers_day_is_not_full_and_it_is_not_too_soon() -> None:
    hours = BookingHours(per_slot=2, per_day=3)
    monday = date(2026, 11, 23)
    at_ten = datetime(2026, 11, 23, 10, 5, tzinfo=HALL_TIME)
    free = offers(hours, monday, at_ten, lead_minutes=30, taken={"11:00": 2}, taken_today=2)
    labels = [o.slot.label for o in free]
    assert labels[0] == "11:30"  # 10:30 is sooner than 10:05 + 30 min; 11:00 is full
    assert all(o.free == 1 for o in free)  # the day has room for one more
    assert offers(hours, monday, at_ten, lead_minutes=30, taken={"09:00": 3}, taken_today=3) == []
    tomorrow = offers(hours, date(2026, 11, 24), at_ten, lead_minutes=30, taken={}, taken_today=0)
    assert tomorrow[0].slot.label == "09:00" and tomorrow[0].free == 2


def test_booking_days_are_today_and_the_working_days_ahead() -> None:
    weekdays = booking_days(date(2026, 11, 27), 4, lambda d: d.weekday() < 5)  # a Friday
    assert weekdays == [date(2026, 11, 27), date(2026, 11, 30), date(2026, 12, 1)]
