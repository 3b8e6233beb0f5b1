"""The booking log: every step of every booking, appended once, hash-chained, never edited.

`bookings` is the current view of it. The booker's phone is in the log only
sealed with the booking's key (`central.personal`), so erasing the key erases
the number everywhere without touching the chain. The SMS feed follows this
log by `seq` (`after`), so a booking is told to its citizen once, after commit.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from central.chain import EMPTY, Head, Link, canonical_body, verify_chain
from spine.sqlite import append_only

SCHEMA = """
CREATE TABLE IF NOT EXISTS booking_log (
    seq INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    type TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS booking_log_by_code ON booking_log (code, seq);
""" + append_only("booking_log", "the booking log")

CONFIRMED = "booking.confirmed"
CANCELLED = "booking.cancelled"
CHECKED_IN = "booking.checked_in"
NO_SHOW = "booking.no_show"

Read = Callable[[str, tuple[Any, ...]], list[Any]]


@dataclass(frozen=True)
class Step:
    seq: int
    code: str
    type: str
    at: int
    actor: str
    body: dict[str, Any]


def append(tx: sqlite3.Connection, code: str, type: str, at: int, actor: str,
           body: dict[str, Any]) -> int:
    """Append one step, linked to the last row of the whole log; returns its seq."""
    row = tx.execute("SELECT seq, hash FROM booking_log ORDER BY seq DESC LIMIT 1").fetchone()
    link = Link.after(Head(*row) if row else EMPTY, (code, type, at, actor), canonical_body(body))
    tx.execute(
        "INSERT INTO booking_log (seq, code, type, at, actor, body, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (link.seq, code, type, at, actor, link.body_text, link.prev_hash, link.hash),
    )
    return link.seq


def after(read: Read, seq: int, types: tuple[str, ...], limit: int) -> list[Step]:
    """Steps of the given types after `seq`, in order (the SMS feed's read)."""
    marks = ", ".join("?" * len(types))
    rows = read(f"SELECT seq, code, type, at, actor, body FROM booking_log WHERE seq > ? "
                f"AND type IN ({marks}) ORDER BY seq LIMIT ?", (seq, *types, limit))
    return [Step(s, c, t, a, who, json.loads(b)) for s, c, t, a, who, b in rows]


def head(read: Read) -> int:
    rows = read("SELECT max(seq) FROM booking_log", ())
    return int(rows[0][0] or 0)


def verify(read: Read) -> dict[str, Any]:
    """Recompute the chain; name the first row that does not match (every chain check's shape)."""
    report = verify_chain(
        Link(seq, (code, type, at, actor), body, prev_hash, digest)
        for seq, code, type, at, actor, body, prev_hash, digest in read(
            "SELECT seq, code, type, at, actor, body, prev_hash, hash FROM booking_log ORDER BY seq", ()))
    return report.as_dict()
