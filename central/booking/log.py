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

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    MetaData,
    Table,
    Text,
    bindparam,
    desc,
    func,
    literal,
    select,
)

from central.chain import EMPTY, Head, Link, canonical_body, verify_chain
from central.reads import Source, rows
from spine.sqlite import append_only
from spine.statement import Statement, Tx

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

BOOKING_LOG_TABLES = MetaData()
BOOKING_LOG = Table(
    "booking_log", BOOKING_LOG_TABLES,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),  # the position in the chain
    Column("code", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("actor", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("prev_hash", Text, nullable=False),
    Column("hash", Text, nullable=False),
    Index("booking_log_by_code", "code", "seq"),
)
"""`SCHEMA` in SQLAlchemy Core (made on PostgreSQL by migration 0003)."""
_L = BOOKING_LOG.c
_HEAD = Statement(lambda _dialect: select(_L.seq, _L.hash).order_by(desc(_L.seq)).limit(1))
_APPENDED = Statement(lambda _dialect: BOOKING_LOG.insert().values(
    {column.name: bindparam(column.name) for column in BOOKING_LOG.columns}))
_NEWEST = Statement(lambda _dialect: select(func.max(_L.seq)))
_CHAIN = Statement(lambda _dialect: select(
    _L.seq, _L.code, _L.type, _L.at, _L.actor, _L.body, _L.prev_hash, _L.hash).order_by(_L.seq))
_AFTER: dict[tuple[str, ...], Statement] = {}
"""Steps after a position, one statement per set of types asked for (the feed asks for one)."""



@dataclass(frozen=True)
class Step:
    seq: int
    code: str
    type: str
    at: int
    actor: str
    body: dict[str, Any]


def append(tx: Tx, code: str, type: str, at: int, actor: str, body: dict[str, Any]) -> int:
    """Append one step, linked to the last row of the whole log; returns its seq."""
    row = _HEAD.run(tx).fetchone()
    link = Link.after(Head(int(row[0]), str(row[1])) if row else EMPTY, (code, type, at, actor),
                      canonical_body(body))
    _APPENDED.run(tx, {"seq": link.seq, "code": code, "type": type, "at": at, "actor": actor,
                       "body": link.body_text, "prev_hash": link.prev_hash, "hash": link.hash})
    return link.seq


def after(read: Source, seq: int, types: tuple[str, ...], limit: int) -> list[Step]:
    """Steps of the given types after `seq`, in order (the SMS feed's read)."""
    if types not in _AFTER:
        wanted = _L.type.in_([literal(t) for t in types])
        _AFTER[types] = Statement(lambda _dialect: select(
            _L.seq, _L.code, _L.type, _L.at, _L.actor, _L.body).where(
            _L.seq > bindparam("after"), wanted).order_by(_L.seq).limit(bindparam("limit")))
    found = rows(read, _AFTER[types], {"after": seq, "limit": limit})
    return [Step(s, c, t, a, who, json.loads(b)) for s, c, t, a, who, b in found]


def head(read: Source) -> int:
    return int(rows(read, _NEWEST)[0][0] or 0)


def verify(read: Source) -> dict[str, Any]:
    """Recompute the chain; name the first row that does not match (every chain check's shape)."""
    report = verify_chain(
        Link(seq, (code, type, at, actor), body, prev_hash, digest)
        for seq, code, type, at, actor, body, prev_hash, digest in rows(read, _CHAIN))
    return report.as_dict()
