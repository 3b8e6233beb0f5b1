"""The complaint log: every step of every complaint, appended once, hash-chained, never edited.

The `complaints` and `complaint_holds` tables are views of it. The log keeps the
complainant's name and phone (the officer calling back needs them); every read
but `contact` masks them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from central.cases.timebase import format_instant
from central.chain import EMPTY, Head, Link, canonical_body, verify_chain
from contract.privacy import mask_phone, redact

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


def history(read: Read, complaint: str, *, personal: bool = False) -> list[dict[str, Any]]:
    """Every step of a complaint in order; personal data masked unless `personal`."""
    rows = read("SELECT seq, type, at, actor, body FROM complaint_log WHERE complaint = ? ORDER BY seq",
                (complaint,))
    if not rows:
        raise UnknownComplaint(complaint)
    out = []
    for seq, type, at, actor, body in rows:
        data = json.loads(body)
        out.append({"seq": seq, "type": type, "at": iso(at), "actor": actor,
                    "body": data if personal else _masked(data)})
    return out


def contact(read: Read, complaint: str) -> dict[str, Any]:
    """The complainant's name and phone, unmasked: for the officer who calls back only."""
    rows = read("SELECT body FROM complaint_log WHERE complaint = ? AND type = 'complaint.received'",
                (complaint,))
    if not rows:
        raise UnknownComplaint(complaint)
    body = json.loads(rows[0][0])
    return {"complainant": body.get("complainant"), "phone": body.get("phone")}


def verify(read: Read) -> dict[str, Any]:
    """Recompute the hash chain; name the first row that does not match."""
    report = verify_chain(
        Link(seq, (complaint, type, at, actor), body, prev_hash, digest)
        for seq, complaint, type, at, actor, body, prev_hash, digest in read(
            "SELECT seq, complaint, type, at, actor, body, prev_hash, hash FROM complaint_log "
            "ORDER BY seq", ()))
    return {"ok": report.ok, "rows": report.checked, "first_bad_seq": report.first_bad,
            "head": report.head.hash}


def iso(ms: int) -> str:
    """An instant of the complaint desk (ms) as people read it: ISO 8601, +08:00, to the second."""
    return format_instant(ms // 1000)


def _masked(body: dict[str, Any]) -> dict[str, Any]:
    out = dict(body)
    if out.get("phone"):
        out["phone"] = mask_phone(out["phone"])
    if out.get("complainant"):
        out["complainant"] = str(out["complainant"])[:1] + "*"
    for key in ("summary", "answer"):
        if isinstance(out.get(key), str):
            out[key] = redact(out[key])
    return out
