"""Each hall's list of a day's bookings (`queue.appointments`), sent to its gateway.

Central sends a hall's list for a day after every change to it, and every list
from today on whenever the hall's gateway comes online (its retained status):
a command published while a gateway has no session at central's broker is
lost, and the list replaces the day's list, so sending it again is harmless
(the gateway keeps which codes were already redeemed). Only codes travel: no
personal data reaches the hall.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from central.booking.store import BookingRow, BookingStore
from contract.commands.queue import Booking, QueueAppointments

log = logging.getLogger(__name__)

SendCommand = Callable[[str, dict[str, Any]], None]
"""(hall, command) -> published on `central/<hall>/cmd` (`CentralIngest.send_command`)."""


def appointments(day: str, bookings: list[BookingRow], *, early_ms: int, late_ms: int) -> dict[str, Any]:
    """The command for one hall's day: each code with its service, officer, window and the time
    the kiosk takes it (from `early_ms` before the slot to `late_ms` after it)."""
    command = QueueAppointments(day=day, appointments=[
        Booking(code=b.code, service=b.service, officer=b.officer, window=b.window,
                not_before=b.starts_at - early_ms, not_after=b.ends_at + late_ms)
        for b in bookings
    ])
    return command.model_dump(mode="json", exclude={"appointments": {"__all__": {"redeemed_ticket"}}})


class HallLists:
    def __init__(self, store: BookingStore, send: SendCommand, *, early_ms: int, late_ms: int) -> None:
        self.store = store
        self.send = send
        self.early_ms = early_ms
        self.late_ms = late_ms

    def send_day(self, hall: str, day: str) -> None:
        bookings = self.store.on_list(hall, day)
        self.send(hall, appointments(day, bookings, early_ms=self.early_ms, late_ms=self.late_ms))
        log.info("hall %s: %d booking(s) of %s sent", hall, len(bookings), day)

    def send_all(self, hall: str, today: str) -> int:
        """Every list of the hall from today on (it came online); how many were sent."""
        days = self.store.days_from(hall, today)
        for day in days:
            self.send_day(hall, day)
        return len(days)
