"""The booking log: every step of every booking, appended once, hash-chained, never edited.

`bookings` is the current view of it. The booker's phone is in the log only
sealed with the booking's key (`central.personal`), so erasing the key erases
the number everywhere without touching the chain. The SMS feed follows this
log by `seq` (`after`), so a booking is told to its citizen once, after commit.
Its statements are written once for SQLite and PostgreSQL (`spine.statement`); on
PostgreSQL the table and its append-only triggers are made by `central/migrations`
(revision 0003).
"""

from __future__ import annotations

from typing import Any

from central.ledger import Layout, Ledger, Step
from central.reads import Source

LOG = Ledger("booking_log", "the booking log", Layout(subject=("code",)))
"""`booking_log(seq, code, type, at, actor, body, prev_hash, hash)`; a step's subject is the code."""
BOOKING_LOG = LOG.table
"""The table in SQLAlchemy Core (made on PostgreSQL by migration 0003)."""
SCHEMA = LOG.schema

CONFIRMED = "booking.confirmed"
CANCELLED = "booking.cancelled"
CHECKED_IN = "booking.checked_in"
NO_SHOW = "booking.no_show"

__all__ = ["BOOKING_LOG", "CANCELLED", "CHECKED_IN", "CONFIRMED", "LOG", "NO_SHOW", "SCHEMA", "Step",
           "verify"]


def verify(read: Source) -> dict[str, Any]:
    """Recompute the chain; name the first row that does not match (every chain check's shape)."""
    return LOG.verify(read).as_dict()
