"""An append-only, hash-chained log table for the supervision office's records (anomalies, projects).

Each step of a record (raised, acknowledged, closed; a project created, a case
added) is one row, linked to the row before it in the whole table
(`central.chain`); triggers refuse UPDATE and DELETE, and `verify` names the
first row that does not match. The current state of a record is a view table
its owner keeps beside the log. Bodies hold no personal data in clear: free
text is sealed by the owner before it is appended.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from central.chain import EMPTY, Head, Link, VerifyReport, canonical_body, verify_chain
from spine.sqlite import append_only

Read = Callable[[str, tuple[Any, ...]], list[Any]]
"""A read of the file the log lives in."""

_TABLE = re.compile(r"^[a-z][a-z_]{2,40}$")


@dataclass(frozen=True)
class Step:
    """One row of a ledger, its body parsed."""

    seq: int
    subject: str
    type: str
    at: int
    actor: str
    body: dict[str, Any]


class Ledger:
    """The rows of one chained table: `<table>(seq, subject, type, at, actor, body, prev_hash, hash)`."""

    def __init__(self, table: str, what: str) -> None:
        if not _TABLE.match(table):
            raise ValueError(f"not a table name: {table!r}")
        self.table = table
        self.what = what

    @property
    def schema(self) -> str:
        t = self.table
        return f"""
CREATE TABLE IF NOT EXISTS {t} (
    seq INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    type TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS {t}_by_subject ON {t} (subject, seq);
""" + append_only(t, self.what)

    def append(self, tx: sqlite3.Connection, subject: str, type: str, at: int, actor: str,
               body: dict[str, Any]) -> int:
        """Chain one step onto the last row of the table, inside the caller's transaction."""
        row = tx.execute(f"SELECT seq, hash FROM {self.table} ORDER BY seq DESC LIMIT 1").fetchone()
        link = Link.after(Head(*row) if row else EMPTY, (subject, type, at, actor), canonical_body(body))
        tx.execute(
            f"INSERT INTO {self.table} (seq, subject, type, at, actor, body, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (link.seq, subject, type, at, actor, link.body_text, link.prev_hash, link.hash))
        return link.seq

    def steps(self, read: Read, subject: str) -> list[Step]:
        """Every step of one record, in order."""
        return [Step(seq, subject, type, at, actor, json.loads(body)) for seq, type, at, actor, body in read(
            f"SELECT seq, type, at, actor, body FROM {self.table} WHERE subject = ? ORDER BY seq",
            (subject,))]

    def verify(self, read: Read, published: Head | None = None) -> VerifyReport:
        """Check every row from the first; name the first bad one."""
        return verify_chain(
            (Link(seq, (subject, type, at, actor), body, prev_hash, digest)
             for seq, subject, type, at, actor, body, prev_hash, digest in read(
                 f"SELECT seq, subject, type, at, actor, body, prev_hash, hash FROM {self.table} "
                 "ORDER BY seq", ())),
            published)
