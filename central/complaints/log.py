"""The complaint log: every step of every complaint, appended once, hash-chained, never edited.

The `complaints` and `complaint_holds` tables are views of it. The log keeps the
complainant's name and phone (the officer calling back needs them), and the
phones and ID numbers found in the summary and the answer, only sealed with the
complaint's key (`central.personal`): every read but `contact` masks them, and
erasing the key erases them without touching the chain. Its statements are written
once for SQLite and PostgreSQL (`spine.statement`); on PostgreSQL the table and its
append-only triggers are made by `central/migrations` (revision 0003).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import BigInteger, Column, Index, MetaData, Table, Text, bindparam, desc, func, select

from central.cases.timebase import format_instant
from central.chain import EMPTY, Head, Link, canonical_body, verify_chain
from central.personal import Reader, complaint_subject, vault
from central.reads import Source, rows
from contract.privacy import PersonalKind, phone_kind
from spine.statement import Statement, Tx

SCHEMA = """
CREATE TABLE IF NOT EXISTS complaint_log (
    seq INTEGER PRIMARY KEY,
    complaint TEXT NOT NULL,
    type TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS complaint_log_by_complaint ON complaint_log (complaint, seq);
CREATE TRIGGER IF NOT EXISTS complaint_log_no_update BEFORE UPDATE ON complaint_log
    BEGIN SELECT RAISE(ABORT, 'the complaint log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS complaint_log_no_delete BEFORE DELETE ON complaint_log
    BEGIN SELECT RAISE(ABORT, 'the complaint log is append-only'); END;
"""

COMPLAINT_LOG_TABLES = MetaData()
COMPLAINT_LOG = Table(
    "complaint_log", COMPLAINT_LOG_TABLES,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),  # the position in the chain
    Column("complaint", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("actor", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("prev_hash", Text, nullable=False),
    Column("hash", Text, nullable=False),
    Index("complaint_log_by_complaint", "complaint", "seq"),
)
"""`SCHEMA` in SQLAlchemy Core (made on PostgreSQL by migration 0003)."""
_L = COMPLAINT_LOG.c
_HEAD = Statement(lambda _dialect: select(_L.seq, _L.hash).order_by(desc(_L.seq)).limit(1))
_APPENDED = Statement(lambda _dialect: COMPLAINT_LOG.insert().values(
    {column.name: bindparam(column.name) for column in COMPLAINT_LOG.columns}))
_STEPS = Statement(lambda _dialect: select(_L.seq, _L.type, _L.at, _L.actor, _L.body).where(
    _L.complaint == bindparam("complaint")).order_by(_L.seq))
_RECEIVED = Statement(lambda _dialect: select(_L.body).where(
    _L.complaint == bindparam("complaint"), _L.type == "complaint.received"))
_CHAIN = Statement(lambda _dialect: select(
    _L.seq, _L.complaint, _L.type, _L.at, _L.actor, _L.body, _L.prev_hash, _L.hash).order_by(_L.seq))
NEWEST = Statement(lambda _dialect: select(func.max(_L.seq)))
TOLD_AFTER = Statement(lambda _dialect: select(_L.seq, _L.complaint, _L.type, _L.at, _L.body).where(
    _L.seq > bindparam("after"), _L.seq <= bindparam("head"),
    _L.type.in_([bindparam("type_1"), bindparam("type_2")])).order_by(_L.seq).limit(bindparam("limit")))
"""Steps of two types in (after, head], in order: what the SMS feed tells (`central.sms_feed`)."""


class UnknownComplaint(LookupError):
    pass


def append(tx: Tx, complaint: str, type: str, at: int, actor: str, body: dict[str, Any]) -> None:
    """Append one step, linked to the last row of the whole log."""
    row = _HEAD.run(tx).fetchone()
    link = Link.after(Head(int(row[0]), str(row[1])) if row else EMPTY, (complaint, type, at, actor),
                      canonical_body(body))
    _APPENDED.run(tx, {"seq": link.seq, "complaint": complaint, "type": type, "at": at, "actor": actor,
                       "body": link.body_text, "prev_hash": link.prev_hash, "hash": link.hash})


def sealed_intake(tx: Tx, complaint: str, complainant: str | None, phone: str | None,
                  summary: str) -> dict[str, Any]:
    """The complainant's name and phone, and the summary with its phones and ID numbers, sealed
    with the complaint's key inside the transaction that records the complaint."""
    sealer = vault.Sealer(tx, complaint_subject(complaint))
    return {
        "complainant": sealer.value(PersonalKind.NAME, complainant) if complainant else None,
        "phone": sealer.value(phone_kind(phone), phone) if phone else None,
        "summary": sealer.text(summary),
    }


def sealed_text(tx: Tx, complaint: str, text: str) -> str:
    """Free text of a later step (the answer), its personal data sealed with the complaint's key."""
    return vault.seal_text(tx, complaint_subject(complaint), text)


def history(read: Source, complaint: str, *, personal: bool = False) -> list[dict[str, Any]]:
    """Every step of a complaint in order; personal data masked unless `personal`."""
    steps = rows(read, _STEPS, {"complaint": complaint})
    if not steps:
        raise UnknownComplaint(complaint)
    subject, reader = complaint_subject(complaint), Reader(read)
    bodies = [json.loads(row[4]) for row in steps]
    reader.prefetch(bodies)
    return [{"seq": seq, "type": type, "at": iso(at), "actor": actor,
             "body": reader.clear_body(subject, data) if personal else reader.masked_body(subject, data)}
            for (seq, type, at, actor, _), data in zip(steps, bodies, strict=True)]


def contact(read: Source, complaint: str) -> dict[str, Any]:
    """The complainant's name and phone, unmasked: for the officer who calls back only."""
    received = rows(read, _RECEIVED, {"complaint": complaint})
    if not received:
        raise UnknownComplaint(complaint)
    body = json.loads(received[0][0])
    subject, reader = complaint_subject(complaint), Reader(read)
    return {"complainant": reader.clear(subject, body.get("complainant")),
            "phone": reader.clear(subject, body.get("phone"))}


def verify(read: Source) -> dict[str, Any]:
    """Recompute the hash chain; name the first row that does not match."""
    report = verify_chain(
        Link(seq, (complaint, type, at, actor), body, prev_hash, digest)
        for seq, complaint, type, at, actor, body, prev_hash, digest in rows(read, _CHAIN))
    return report.as_dict()


def iso(ms: int) -> str:
    """An instant of the complaint desk (ms) as people read it: ISO 8601, +08:00, to the second."""
    return format_instant(ms // 1000)

