"""The booking log as the SMS feed reads it: a booking confirmed or cancelled, told to its booker."""

from __future__ import annotations

from collections.abc import Callable

from central.booking import log as booking_log
from central.booking.store import BookingStore
from central.sms_feed.facts import Chunk, Fact

TOLD = (booking_log.CONFIRMED, booking_log.CANCELLED)


class BookingFacts:
    name = "bookings"

    def __init__(self, store: BookingStore, hall_name: Callable[[str], str]) -> None:
        self.store = store
        self.hall_name = hall_name

    def head(self) -> int:
        return self.store.log_head()

    def after(self, position: int, limit: int) -> Chunk:
        head = self.head()
        steps = self.store.steps_after(position, TOLD, limit, upto=head)
        facts = [self._fact(step) for step in steps]
        upto = steps[-1].seq if len(steps) == limit else head
        return Chunk(facts, max(upto, position))

    def _fact(self, step: booking_log.Step) -> Fact:
        (code,) = step.subject
        row = self.store.get(code)
        phone = self.store.phone(code)
        fact_id = f"booking:{step.seq}"
        if row is None or phone is None:
            return Fact(step.seq, fact_id, step.type, None, step.at)
        # The citizen who cancelled knows why; a cancellation by the hall says it.
        reason = "" if step.actor == "public" else str(step.body.get("reason", ""))
        body = {"code": row.code, "phone": phone, "matter": row.matter, "day": row.day, "time": row.slot,
                "hall_name": self.hall_name(row.hall), "reason": reason}
        return Fact(step.seq, fact_id, step.type, body, step.at)
