"""The retention rule for bookings: a booking's phone is erased `[privacy] erase_after_days` after
the booking closed (cancelled, checked in, or counted a no-show).

A booking's key lives in central's event store, so `CentralPlace` erases it
(and finds it on a citizen's request through the vault's index); this place
only tells the eraser which bookings are due.
"""

from __future__ import annotations

from collections.abc import Iterable

from central.booking.store import BookingStore
from central.personal import vault
from central.personal.retention import Retention
from central.personal.subjects import booking_subject


class BookingRetention:
    name = "bookings"

    def __init__(self, store: BookingStore) -> None:
        self.store = store

    def holding(self, phone: str) -> set[str]:
        return set()  # central's event store answers for the bookings' keys

    def due(self, rule: Retention) -> dict[str, str]:
        subjects = [booking_subject(code) for code in self.store.closed_before(rule.closed_before_ms)]
        kept = self.store.store.read(lambda tx: vault.kept_subjects(tx, subjects))
        return {subject: rule.reason("booking") for subject in subjects if subject in kept}

    def erase(self, subjects: Iterable[str], *, actor: str, reason: str, now_ms: int) -> list[str]:
        return []  # erased with the other keys of central's event store (`CentralPlace`)
