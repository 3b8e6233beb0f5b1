"""The SMS outbox: one durable row per (fact, recipient, template), so a fact delivered twice sends once.

A message is written before anything is sent and changes state only in
commits: `queued` (waiting for its `not_before`: quiet hours, a rate limit or
a retry), `sending` (claimed by the worker), `sent` (every part accepted),
`delivered` / `undelivered` (the network's report), `failed` (given up after
the retry limit or refused for good; `retry()` puts it back), and the states in
which nothing will be sent: `opted_out`, `unaddressed` (no number known),
`erased` (the number was erased before it went out).

Clear numbers live only in `sms_messages.phone` and `sms_incoming.phone`;
screens and logs see `phone_masked`, look-ups use a keyed digest. `erase()`
removes a number from every row (a citizen's request), `erase_before()` the
numbers of messages settled before a cut-off (retention); an opt-out is kept as
a digest only, so it outlives the erasure of the number it protects.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from central.sms.numbers import normalize_phone, phone_digest
from central.sms.senders.base import DeliveryReport, IncomingSms
from contract.privacy import mask_phone
from spine.sqlite import Transaction, open_database

SCHEMA = """
CREATE TABLE IF NOT EXISTS sms_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sms_messages (
    id INTEGER PRIMARY KEY,
    fact_id TEXT NOT NULL,
    fact_type TEXT NOT NULL,
    recipient TEXT NOT NULL,
    template TEXT NOT NULL,
    subject TEXT NOT NULL,
    phone TEXT,
    phone_key TEXT,
    phone_masked TEXT NOT NULL,
    text TEXT NOT NULL,
    parts INTEGER NOT NULL,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    not_before INTEGER NOT NULL,
    hold TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sender TEXT,
    units_total INTEGER,
    units_sent INTEGER NOT NULL DEFAULT 0,
    concat_ref INTEGER NOT NULL,
    sent_at INTEGER,
    delivered_at INTEGER,
    UNIQUE (fact_id, recipient, template)
);
CREATE INDEX IF NOT EXISTS sms_messages_due ON sms_messages (not_before, id) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS sms_messages_by_phone ON sms_messages (phone_key, sent_at);
CREATE INDEX IF NOT EXISTS sms_messages_by_sent ON sms_messages (sent_at);
CREATE TABLE IF NOT EXISTS sms_units (
    message_id INTEGER NOT NULL REFERENCES sms_messages (id),
    unit INTEGER NOT NULL,
    reference TEXT,
    sent_at INTEGER NOT NULL,
    report TEXT,
    reported_at INTEGER,
    PRIMARY KEY (message_id, unit)
);
CREATE INDEX IF NOT EXISTS sms_units_by_reference ON sms_units (reference, sent_at);
CREATE TABLE IF NOT EXISTS sms_attempts (
    message_id INTEGER NOT NULL REFERENCES sms_messages (id),
    at INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT
);
CREATE TABLE IF NOT EXISTS sms_opt_outs (
    phone_key TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    via TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sms_incoming (
    id INTEGER PRIMARY KEY,
    phone TEXT,
    phone_key TEXT,
    phone_masked TEXT NOT NULL,
    text TEXT,
    received_at INTEGER NOT NULL,
    action TEXT NOT NULL
);
"""

FINAL_STATES = ("sent", "delivered", "undelivered", "failed", "opted_out", "unaddressed", "erased")
REPORT_WINDOW_MS = 7 * 24 * 3_600_000
"""A status report is matched to a part sent at most this long ago (references wrap at 256)."""


@dataclass(frozen=True)
class Draft:
    """A rendered message, ready to be stored."""

    fact_id: str
    fact_type: str
    recipient: str
    template: str
    subject: str
    phone: str | None = field(repr=False)
    text: str
    parts: int


@dataclass(frozen=True)
class Pending:
    """A queued message as the worker needs it (clear number included: never log this)."""

    id: int
    recipient: str
    phone: str = field(repr=False)
    phone_key: str
    text: str
    attempts: int
    units_total: int | None
    units_sent: int
    concat_ref: int


@dataclass(frozen=True)
class MessageView:
    """A message as a screen or a diagnostics dump shows it: the number masked."""

    id: int
    fact_id: str
    fact_type: str
    recipient: str
    template: str
    phone: str
    state: str
    parts: int
    attempts: int
    last_error: str | None
    hold: str | None
    created_at: int
    not_before: int
    sent_at: int | None
    delivered_at: int | None
    text: str


class SmsOutbox:
    """The SMS store (its own SQLite file in WAL mode); safe to share between threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = open_database(self.path)
        # An erased number must not stay behind in freed space of the file.
        self._db.execute("PRAGMA secure_delete=ON")
        self._lock = threading.RLock()
        with self._lock:
            self._db.executescript(SCHEMA)
        with self._tx() as tx:
            row = tx.execute("SELECT value FROM sms_meta WHERE key = 'phone_key'").fetchone()
            if row is None:
                tx.execute("INSERT INTO sms_meta (key, value) VALUES ('phone_key', ?)",
                           (secrets.token_hex(32),))
                row = tx.execute("SELECT value FROM sms_meta WHERE key = 'phone_key'").fetchone()
        self._key = bytes.fromhex(row[0])

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, Transaction(self._db) as tx:
            yield tx

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def digest(self, phone: str) -> str:
        return phone_digest(self._key, phone)

    # --- writing messages ---------------------------------------------------

    def enqueue(self, draft: Draft, now_ms: int) -> tuple[int, bool]:
        """Store a message once per (fact, recipient, template); returns (id, newly stored)."""
        phone = normalize_phone(draft.phone) if draft.phone else None
        key = self.digest(phone) if phone else None
        with self._tx() as tx:
            existing = tx.execute(
                "SELECT id FROM sms_messages WHERE fact_id = ? AND recipient = ? AND template = ?",
                (draft.fact_id, draft.recipient, draft.template)).fetchone()
            if existing:
                return int(existing[0]), False
            if phone is None:
                state, error = "unaddressed", "no phone number known for this recipient"
            elif tx.execute("SELECT 1 FROM sms_opt_outs WHERE phone_key = ?", (key,)).fetchone():
                state, error = "opted_out", None
            else:
                state, error = "queued", None
            cursor = tx.execute(
                "INSERT INTO sms_messages (fact_id, fact_type, recipient, template, subject, phone, "
                "phone_key, phone_masked, text, parts, state, created_at, not_before, last_error, "
                "concat_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (draft.fact_id, draft.fact_type, draft.recipient, draft.template, draft.subject,
                 phone, key, mask_phone(phone), draft.text, draft.parts, state, now_ms, now_ms, error,
                 secrets.randbelow(256)))
            return int(cursor.lastrowid or 0), True

    def due(self, now_ms: int, limit: int) -> list[Pending]:
        rows = self._query(
            "SELECT id, recipient, phone, phone_key, text, attempts, units_total, units_sent, concat_ref "
            "FROM sms_messages WHERE state = 'queued' AND not_before <= ? ORDER BY not_before, id LIMIT ?",
            (now_ms, limit))
        return [Pending(*row) for row in rows]

    def next_due(self) -> int | None:
        """When the earliest queued message may go (None: nothing queued)."""
        row = self._query("SELECT min(not_before) FROM sms_messages WHERE state = 'queued'")
        return None if row[0][0] is None else int(row[0][0])

    def hold(self, message_id: int, until_ms: int, reason: str) -> None:
        with self._tx() as tx:
            tx.execute("UPDATE sms_messages SET not_before = ?, hold = ? WHERE id = ? AND state = 'queued'",
                       (until_ms, reason, message_id))

    def claim(self, message_id: int, sender: str, units_total: int, now_ms: int) -> bool:
        """Mark a message as being sent; False if it is no longer queued (opted out meanwhile)."""
        with self._tx() as tx:
            cursor = tx.execute(
                "UPDATE sms_messages SET state = 'sending', sender = ?, attempts = attempts + 1, "
                "hold = NULL, units_total = coalesce(units_total, ?) WHERE id = ? AND state = 'queued'",
                (sender, units_total, message_id))
            if cursor.rowcount:
                tx.execute("INSERT INTO sms_attempts (message_id, at, outcome) VALUES (?, ?, 'started')",
                           (message_id, now_ms))
            return bool(cursor.rowcount)

    def record_units(self, message_id: int, first_unit: int, references: tuple[str | None, ...],
                     now_ms: int) -> None:
        """Units the sender accepted: they are never sent again, whatever happens next."""
        if not references:
            return
        with self._tx() as tx:
            tx.executemany(
                "INSERT OR REPLACE INTO sms_units (message_id, unit, reference, sent_at) VALUES (?, ?, ?, ?)",
                [(message_id, first_unit + i, ref, now_ms) for i, ref in enumerate(references)])
            tx.execute("UPDATE sms_messages SET units_sent = ? WHERE id = ?",
                       (first_unit + len(references), message_id))

    def mark_sent(self, message_id: int, now_ms: int) -> None:
        with self._tx() as tx:
            tx.execute("UPDATE sms_messages SET state = 'sent', sent_at = ?, last_error = NULL "
                       "WHERE id = ? AND state = 'sending'", (now_ms, message_id))
            tx.execute("INSERT INTO sms_attempts (message_id, at, outcome) VALUES (?, ?, 'sent')",
                       (message_id, now_ms))

    def mark_retry(self, message_id: int, error: str, not_before: int, now_ms: int) -> None:
        with self._tx() as tx:
            tx.execute("UPDATE sms_messages SET state = 'queued', last_error = ?, not_before = ?, "
                       "hold = 'retry' WHERE id = ? AND state = 'sending'", (error, not_before, message_id))
            tx.execute("INSERT INTO sms_attempts (message_id, at, outcome, detail) "
                       "VALUES (?, ?, 'retry', ?)", (message_id, now_ms, error))

    def mark_failed(self, message_id: int, error: str, now_ms: int) -> None:
        with self._tx() as tx:
            tx.execute("UPDATE sms_messages SET state = 'failed', last_error = ?, hold = NULL "
                       "WHERE id = ? AND state = 'sending'", (error, message_id))
            tx.execute("INSERT INTO sms_attempts (message_id, at, outcome, detail) "
                       "VALUES (?, ?, 'failed', ?)", (message_id, now_ms, error))

    def retry(self, message_id: int, now_ms: int) -> bool:
        """Put a failed message back in the queue (an operator's decision, e.g. after a modem swap)."""
        with self._tx() as tx:
            cursor = tx.execute(
                "UPDATE sms_messages SET state = 'queued', attempts = 0, not_before = ?, hold = NULL "
                "WHERE id = ? AND state = 'failed'", (now_ms, message_id))
            return bool(cursor.rowcount)

    def recover(self, now_ms: int) -> int:
        """After a restart: a message left `sending` goes back to the queue, keeping its accepted parts."""
        with self._tx() as tx:
            cursor = tx.execute(
                "UPDATE sms_messages SET state = 'queued', not_before = ?, hold = 'retry', "
                "last_error = 'interrupted by a restart while sending' WHERE state = 'sending'", (now_ms,))
            return cursor.rowcount

    # --- what comes back ----------------------------------------------------

    def record_report(self, report: DeliveryReport, now_ms: int) -> int | None:
        """A status report for a part; returns the message id it belongs to, if found."""
        key = self.digest(report.phone)
        with self._tx() as tx:
            row = tx.execute(
                "SELECT u.message_id, u.unit FROM sms_units u JOIN sms_messages m ON m.id = u.message_id "
                "WHERE u.reference = ? AND m.phone_key = ? AND u.sent_at >= ? "
                "ORDER BY u.sent_at DESC, u.message_id DESC LIMIT 1",
                (report.reference, key, now_ms - REPORT_WINDOW_MS)).fetchone()
            if row is None:
                return None
            message_id, unit = row
            verdict = "delivered" if report.delivered else ("failed" if report.final else "pending")
            tx.execute("UPDATE sms_units SET report = ?, reported_at = ? WHERE message_id = ? AND unit = ?",
                       (verdict, now_ms, message_id, unit))
            units = tx.execute("SELECT report FROM sms_units WHERE message_id = ?", (message_id,)).fetchall()
            total = tx.execute("SELECT units_total FROM sms_messages WHERE id = ?",
                               (message_id,)).fetchone()[0]
            reports = [r[0] for r in units]
            if "failed" in reports:
                tx.execute("UPDATE sms_messages SET state = 'undelivered', last_error = ? "
                           "WHERE id = ? AND state IN ('sent', 'delivered')",
                           (f"status report: {report.status or 'not delivered'}", message_id))
            elif len(reports) == total and all(r == "delivered" for r in reports):
                tx.execute("UPDATE sms_messages SET state = 'delivered', delivered_at = ? "
                           "WHERE id = ? AND state = 'sent'", (now_ms, message_id))
            return int(message_id)

    def record_incoming(self, incoming: IncomingSms, action: str, now_ms: int) -> None:
        phone = normalize_phone(incoming.phone)
        with self._tx() as tx:
            tx.execute("INSERT INTO sms_incoming (phone, phone_key, phone_masked, text, received_at, action) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       (phone, self.digest(phone), mask_phone(phone), incoming.text,
                        incoming.received_ms or now_ms, action))

    def opt_out(self, phone: str, via: str, now_ms: int) -> int:
        """Stop every message to this number, now and later; returns how many queued ones were stopped."""
        key = self.digest(phone)
        with self._tx() as tx:
            tx.execute("INSERT OR IGNORE INTO sms_opt_outs (phone_key, at, via) VALUES (?, ?, ?)",
                       (key, now_ms, via))
            cursor = tx.execute("UPDATE sms_messages SET state = 'opted_out', hold = NULL "
                                "WHERE phone_key = ? AND state = 'queued'", (key,))
            return cursor.rowcount

    def opted_out(self, phone: str) -> bool:
        return bool(self._query("SELECT 1 FROM sms_opt_outs WHERE phone_key = ?", (self.digest(phone),)))

    def erase(self, phone: str) -> dict[str, int]:
        """Remove a number from the SMS store: messages keep their text and state, not the number.

        A message not yet sent to it can never be sent now (`erased`). The opt-out
        digest stays, so a citizen who said 退订 is not messaged again if the number
        comes back with a new case.
        """
        key = self.digest(phone)
        with self._tx() as tx:
            unsent = tx.execute("UPDATE sms_messages SET state = 'erased', hold = NULL "
                                "WHERE phone_key = ? AND state IN ('queued', 'sending')", (key,)).rowcount
            messages = tx.execute(
                "UPDATE sms_messages SET phone = NULL, phone_key = NULL, phone_masked = '(erased)' "
                "WHERE phone_key = ?", (key,)).rowcount
            incoming = tx.execute("DELETE FROM sms_incoming WHERE phone_key = ?", (key,)).rowcount
        self._forget_old_frames()
        return {"messages": messages, "unsent": unsent, "incoming": incoming}

    def _forget_old_frames(self) -> None:
        """Copy the write-ahead log into the file and truncate it: the pages that held an erased
        number do not linger in it (best effort: a reader may hold it a moment longer)."""
        self._query("PRAGMA wal_checkpoint(TRUNCATE)")

    def erase_before(self, cutoff_ms: int) -> dict[str, int]:
        """Retention: messages settled (sent, delivered, failed, ...) and created before `cutoff_ms`
        keep their text and state, not their number; replies received before it are deleted.

        A message still queued keeps its number: it has yet to go out. Opt-outs stay (digests).
        """
        settled = tuple(state for state in FINAL_STATES if state != "erased")
        marks = ", ".join("?" * len(settled))
        with self._tx() as tx:
            messages = tx.execute(
                "UPDATE sms_messages SET phone = NULL, phone_key = NULL, phone_masked = '(erased)' "
                f"WHERE phone IS NOT NULL AND state IN ({marks}) AND created_at < ?",
                (*settled, cutoff_ms)).rowcount
            incoming = tx.execute("DELETE FROM sms_incoming WHERE received_at < ?", (cutoff_ms,)).rowcount
        if messages or incoming:
            self._forget_old_frames()
        return {"messages": messages, "incoming": incoming}

    # --- reading ------------------------------------------------------------

    def send_times(self, phone_key: str, since_ms: int) -> list[int]:
        return [r[0] for r in self._query(
            "SELECT sent_at FROM sms_messages WHERE phone_key = ? AND sent_at >= ?", (phone_key, since_ms))]

    def all_send_times(self, since_ms: int) -> list[int]:
        return [r[0] for r in self._query("SELECT sent_at FROM sms_messages WHERE sent_at >= ?", (since_ms,))]

    def counts(self) -> dict[str, int]:
        return {state: n for state, n in self._query(
            "SELECT state, count(*) FROM sms_messages GROUP BY state ORDER BY state")}

    def messages(self, *, state: str | None = None, fact_id: str | None = None,
                 limit: int = 100) -> list[MessageView]:
        clauses, params = [], []
        if state is not None:
            clauses.append("state = ?")
            params.append(state)
        if fact_id is not None:
            clauses.append("fact_id = ?")
            params.append(fact_id)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._query(
            "SELECT id, fact_id, fact_type, recipient, template, phone_masked, state, parts, attempts, "
            "last_error, hold, created_at, not_before, sent_at, delivered_at, text FROM sms_messages"
            f"{where} ORDER BY id DESC LIMIT ?", (*params, limit))
        return [MessageView(*row) for row in rows]

    def attempts(self, message_id: int) -> list[tuple[int, str, str | None]]:
        return [tuple(r) for r in self._query(
            "SELECT at, outcome, detail FROM sms_attempts WHERE message_id = ? ORDER BY rowid",
            (message_id,))]

    def incoming(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self._query("SELECT phone_masked, text, received_at, action FROM sms_incoming "
                           "ORDER BY id DESC LIMIT ?", (limit,))
        return [{"phone": p, "text": t, "received_at": r, "action": a} for p, t, r, a in rows]

    def opt_out_count(self) -> int:
        return int(self._query("SELECT count(*) FROM sms_opt_outs")[0][0])
