"""A kiosk took a booking's code: the ticket it issued (`queue.ticket_issued` with `appointment`)
checks the booking in, in the transaction that stores the ticket.

A projection of central's event log: deployed late, it catches up from the log.
"""

from __future__ import annotations

import sqlite3

from central.booking.store import SCHEMA, BookingStore
from central.projection import Projection, event_time
from contract.envelope import Envelope


class BookingCheckIns(Projection):
    name = "booking_checkins"
    schema = SCHEMA

    def __init__(self, store: BookingStore) -> None:
        self.bookings = store

    def apply(self, tx: sqlite3.Connection, hall: str, envelope: Envelope) -> None:
        if envelope.type != "queue.ticket_issued":
            return
        body = envelope.body
        code = body.get("appointment")
        if isinstance(code, str) and code:
            self.bookings.check_in(tx, hall, code, str(body.get("ticket")), str(body.get("day")),
                                   event_time(envelope))
