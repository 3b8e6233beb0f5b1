"""A hall's day of bookings as appointment codes, one source of the hall's day list.

`central.appointments.HallAppointments` sends the list (with the green
channel's passes) after every change and whenever the hall's gateway comes
online. Only codes travel: no personal data reaches the hall.
"""

from __future__ import annotations

import logging

from central.booking.store import BookingRow, BookingStore
from contract.commands.queue import Booking

log = logging.getLogger(__name__)


def codes(bookings: list[BookingRow], *, early_ms: int, late_ms: int) -> list[Booking]:
    """Each booking's code with its service, officer, window and the time the kiosk takes it
    (from `early_ms` before the slot to `late_ms` after it)."""
    return [Booking(code=b.code, service=b.service, officer=b.officer, window=b.window,
                    not_before=b.starts_at - early_ms, not_after=b.ends_at + late_ms)
            for b in bookings]


class BookingCodes:
    """The bookings' part of each hall's day list (a `central.appointments.CodeSource`)."""

    def __init__(self, store: BookingStore, *, early_ms: int, late_ms: int) -> None:
        self.store = store
        self.early_ms = early_ms
        self.late_ms = late_ms

    def day_codes(self, hall: str, day: str) -> list[Booking]:
        return codes(self.store.on_list(hall, day), early_ms=self.early_ms, late_ms=self.late_ms)

    def days_from(self, hall: str, day: str) -> list[str]:
        return self.store.days_from(hall, day)
