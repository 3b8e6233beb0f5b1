"""The complaint log: every step of every complaint, appended once, hash-chained, never edited.

The `complaints` and `complaint_holds` tables are views of it. The log keeps the
complainant's name and phone (the officer calling back needs them), and the
phones and ID numbers found in the summary and the answer, only sealed with the
complaint's key (`central.personal`): every read but `contact` masks them, and
erasing the key erases them without touching the chain.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from central.cases.timebase import format_instant
from central.chain import EMPTY, Head, Link, canonical_body, verify_chain
from central.personal import Reader, complaint_subject, vault
from contract.privacy import PersonalKind, phone_kind

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

Read = Callable[[str, tuple[Any, ...]], list[Any]]
"""A read of central's store (`CentralStore.query`)."""


class UnknownComplaint(LookupError):
    pass


def append(tx: sqlite3.Connection, complaint: str, type: str, at: int, actor: str,
           body: dict[str, Any]) -> None:
    """Append one step, linked to the last row of the whole log."""
    row = tx.execute("SELECT seq, hash FROM complaint_log ORDER BY seq DESC LIMIT 1").fetchone()
    link = Link.after(Head(*row) if row else EMPTY, (complaint, type, at, actor), canonical_body(body))
    tx.execute(
        "INSERT INTO complaint_log (seq, complaint, type, at, actor, body, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (link.seq, complaint, type, at, actor, link.body_text, link.prev_hash, link.hash),
    )


def sealed_intake(tx: sqlite3.Connection, complaint: str, complainant: str | None, phone: str | None,
                  summary: str) -> dict[str, Any]:
    """The complainant's name and phone, and the summary with its phones and ID numbers, sealed
    with the complaint's key inside the transaction that records the complaint."""
    sealer = vault.Sealer(tx, complaint_subject(complaint))
    return {
        "complainant": sealer.value(PersonalKind.NAME, complainant) if complainant else None,
        "phone": sealer.value(phone_kind(phone), phone) if phone else None,
        "summary": sealer.text(summary),
    }


def sealed_text(tx: sqlite3.Connection, complaint: str, text: str) -> str:
    """Free text of a later step (the answer), its personal data sealed with the complaint's key."""
    return vault.seal_text(tx, complaint_subject(complaint), text)


def history(read: Read, complaint: str, *, personal: bool = False) -> list[dict[str, Any]]:
    """Every step of a complaint in order; personal data masked unless `personal`."""
    rows = read("SELECT seq, type, at, actor, body FROM complaint_log WHERE complaint = ? ORDER BY seq",
                (complaint,))
    if not rows:
        raise UnknownComplaint(complaint)
    subject, reader = complaint_subject(complaint), Reader(read)
    bodies = [json.loads(row[4]) for row in rows]
    reader.prefetch(bodies)
    return [{"seq": seq, "type": type, "at": iso(at), "actor": actor,
             "body": reader.clear_body(subject, data) if personal else reader.masked_body(subject, data)}
            for (seq, type, at, actor, _), data in zip(rows, bodies, strict=True)]


def contact(read: Read, complaint: str) -> dict[str, Any]:
    """The complainant's name and phone, unmasked: for the officer who calls back only."""
    rows = read("SELECT body FROM complaint_log WHERE complaint = ? AND type = 'complaint.received'",
                (complaint,))
    if not rows:
        raise UnknownComplaint(complaint)
    body = json.loads(rows[0][0])
    subject, reader = complaint_subject(complaint), Reader(read)
    return {"complainant": reader.clear(subject, body.get("complainant")),
            "phone": reader.clear(subject, body.get("phone"))}


def verify(read: Read) -> dict[str, Any]:
    """Recompute the hash chain; name the first row that does not match."""
    report = verify_chain(
        Link(seq, (complaint, type, at, actor), body, prev_hash, digest)
        for seq, complaint, type, at, actor, body, prev_hash, digest in read(
            "SELECT seq, complaint, type, at, actor, body, prev_hash, hash FROM complaint_log "
            "ORDER BY seq", ()))
    return report.as_dict()


def iso(ms: int) -> str:
    """An instant of the complaint desk (ms) as people read it: ISO 8601, +08:00, to the second."""
    return format_instant(ms // 1000)

