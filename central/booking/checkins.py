"""A kiosk took a booking's code: the ticket it issued (`queue.ticket_issued` with `appointment`)
checks the booking in, in the transaction that stores the ticket.

A plain handler of central's event store, not a catch-up projection: bookings
exist only since this handler does, so no earlier ticket can concern one, and
the other events cost it nothing but a look at their type.
"""

from __future__ import annotations

from central.booking.store import BookingStore
from central.projection import event_time
from spine.handlers import HandlerContext
from spine.receiver import AcceptedEvent


class BookingCheckIns:
    def __init__(self, store: BookingStore) -> None:
        self.bookings = store

    def handle(self, context: HandlerContext, event: AcceptedEvent) -> None:
        envelope = event.envelope
        if envelope.type != "queue.ticket_issued":
            return
        code = envelope.body.get("appointment")
        if isinstance(code, str) and code:
            self.bookings.check_in(context.portable, context.hall, code, str(envelope.body.get("ticket")),
                                   str(envelope.body.get("day")), event_time(envelope))
