"""The slots of a booking day and which are still free. Pure: no clock, no store.

Days and times are the hall's (Asia/Shanghai); a slot is named by its start,
`HH:MM`, which is also what the booking SMS says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from central.booking.settings import BookingHours

HALL_TIME = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Slot:
    start: time
    end: time

    @property
    def label(self) -> str:
        return self.start.strftime("%H:%M")

    def starts_on(self, day: date) -> datetime:
        return datetime.combine(day, self.start, HALL_TIME)

    def ends_on(self, day: date) -> datetime:
        return datetime.combine(day, self.end, HALL_TIME)


@dataclass(frozen=True)
class Offer:
    """A slot as the booking page offers it."""

    slot: Slot
    free: int


def day_slots(hours: BookingHours) -> list[Slot]:
    """The slots of one day: from opening, every `slot_minutes`, none across the break or closing."""
    step = timedelta(minutes=hours.slot_minutes)
    slots = []
    start = datetime.combine(date.min, hours.opens)
    closing = datetime.combine(date.min, hours.closes)
    while start + step <= closing:
        end = start + step
        if hours.break_from is not None and hours.break_until is not None:
            pause_from = datetime.combine(date.min, hours.break_from)
            pause_until = datetime.combine(date.min, hours.break_until)
            if start < pause_until and end > pause_from:
                start = pause_until  # the first slot after the break starts when it ends
                continue
        slots.append(Slot(start.time(), end.time()))
        start = end
    return slots


def slot_named(hours: BookingHours, label: str) -> Slot | None:
    return next((slot for slot in day_slots(hours) if slot.label == label), None)


def booking_days(today: date, days_ahead: int, is_workday: Callable[[date], bool]) -> list[date]:
    """Today and the next `days_ahead` days on which the halls work."""
    return [day for day in (today + timedelta(days=n) for n in range(days_ahead + 1)) if is_workday(day)]


def offers(hours: BookingHours, day: date, now: datetime, *, lead_minutes: int,
           taken: Mapping[str, int], taken_today: int) -> list[Offer]:
    """The slots of `day` an officer can still be booked for at `now`: each with room left, the
    officer's day not full, and starting at least `lead_minutes` from now."""
    day_left = hours.per_day - taken_today
    if day_left <= 0:
        return []
    earliest = now + timedelta(minutes=lead_minutes)
    found = []
    for slot in day_slots(hours):
        free = min(hours.per_slot - taken.get(slot.label, 0), day_left)
        if free > 0 and slot.starts_on(day) >= earliest:
            found.append(Offer(slot, free))
    return found
