"""The SMS outbox: one durable row per (fact, recipient, template), so a fact delivered twice sends once.

A message is written before anything is sent and changes state only in
commits: `queued` (waiting for its `not_before`: quiet hours, a rate limit or
a retry), `sending` (taken by one worker, which holds it until `lease_until`),
`sent` (every part accepted), `delivered` / `undelivered` (the network's
report), `failed` (given up after the retry limit or refused for good;
`retry()` puts it back), and the states in which nothing will be sent:
`opted_out`, `unaddressed` (no number known), `erased` (the number was erased
before it went out).

Where it lives: its own SQLite file beside a SQLite central (`sms.sqlite`, as
always), or central's PostgreSQL database (revision 0009), where the workers of
every central process share one queue, the opt-outs, the rate limits' counts,
the reports and the replies. The statements are written once for both
(`spine.statement`). On PostgreSQL a worker takes a message with `SELECT ... FOR
UPDATE SKIP LOCKED` and decides on it under its number's advisory lock (`take`),
so each message is sent by one worker and a number's limits hold across
processes (docs/operations.md, "Several central processes").

Clear numbers live only in `sms_messages.phone` and `sms_incoming.phone`;
screens and logs see `phone_masked`, look-ups use a keyed digest. `erase()`
removes a number from every row (a citizen's request), `erase_before()` the
numbers of messages settled before a cut-off (retention); an opt-out is kept as
a digest only, so it outlives the erasure of the number it protects.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, func, literal_column, null, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from central.sms.numbers import normalize_phone, phone_digest
from central.sms.senders.base import DeliveryReport, IncomingSms
from central.sms.tables import (
    ERASED_TABLES,
    SMS_ATTEMPTS,
    SMS_INCOMING,
    SMS_MESSAGES,
    SMS_META,
    SMS_OPT_OUTS,
    SMS_UNITS,
    upgrade_file,
)
from contract.privacy import mask_phone
from spine.engines import open_engine
from spine.statement import Statement, insert_for, sqlite_driver
from spine.storeurl import StoreUrl

log = logging.getLogger(__name__)

FINAL_STATES = ("sent", "delivered", "undelivered", "failed", "opted_out", "unaddressed", "erased")
REPORT_WINDOW_MS = 7 * 24 * 3_600_000
"""A status report is matched to a part sent at most this long ago (references wrap at 256)."""
DEFAULT_LEASE_MS = 600_000
PHONE_LOCK_NAMESPACE = "hallwatch central sms phone:"
"""Hashed before a number's digest, so its key never meets a hall's, a ledger's or a feed's."""

M = SMS_META.c
S = SMS_MESSAGES.c
U = SMS_UNITS.c
A = SMS_ATTEMPTS.c
O = SMS_OPT_OUTS.c  # noqa: E741 - the opt-outs' columns
N = SMS_INCOMING.c
_PENDING = (S.id, S.recipient, S.phone, S.phone_key, S.text, S.attempts, S.units_total, S.units_sent,
            S.concat_ref)
_VIEW = (S.id, S.fact_id, S.fact_type, S.recipient, S.template, S.phone_masked, S.state, S.parts,
         S.attempts, S.last_error, S.hold, S.created_at, S.not_before, S.sent_at, S.delivered_at, S.text)


def _p(name: str) -> Any:
    return bindparam(name)


def _state_is(*states: str) -> ColumnElement[bool]:
    # Spelled as ORs, not IN (...): an IN list is expanded at run time, which a statement compiled
    # once for the raw SQLite connection cannot be.
    return or_(*(S.state == state for state in states))


def _meta_put(dialect: str) -> Any:
    return insert_for(dialect, SMS_META).values(key=_p("key"), value=_p("value")) \
        .on_conflict_do_nothing(index_elements=["key"])


def _enqueue(dialect: str) -> Any:
    return insert_for(dialect, SMS_MESSAGES).values(
        fact_id=_p("fact_id"), fact_type=_p("fact_type"), recipient=_p("recipient"), template=_p("template"),
        subject=_p("subject"), phone=_p("phone"), phone_key=_p("phone_key"), phone_masked=_p("phone_masked"),
        text=_p("text"), parts=_p("parts"), state=_p("state"), created_at=_p("now"), not_before=_p("now"),
        attempts=0, last_error=_p("error"), units_sent=0, concat_ref=_p("concat_ref"),
    ).on_conflict_do_nothing(index_elements=["fact_id", "recipient", "template"]).returning(S.id)


def _units(dialect: str) -> Any:
    insert = insert_for(dialect, SMS_UNITS).values(message_id=_p("id"), unit=_p("unit"),
                                                   reference=_p("reference"), sent_at=_p("now"))
    return insert.on_conflict_do_update(index_elements=["message_id", "unit"], set_={
        "reference": insert.excluded.reference, "sent_at": insert.excluded.sent_at,
        "report": null(), "reported_at": null()})


def _opt_out(dialect: str) -> Any:
    return insert_for(dialect, SMS_OPT_OUTS).values(phone_key=_p("key"), at=_p("now"), via=_p("via")) \
        .on_conflict_do_nothing(index_elements=["phone_key"])


def _attempts(dialect: str) -> Any:
    # A SQLite file made before the attempts had an id keeps their order in its rowid.
    order = literal_column("rowid") if dialect == "sqlite" else A.id
    return select(A.at, A.outcome, A.detail).where(A.message_id == _p("id")).order_by(order)


def _messages(by_state: bool, by_fact: bool) -> Statement:
    clauses = [S.state == _p("state")] if by_state else []
    clauses += [S.fact_id == _p("fact_id")] if by_fact else []
    return Statement(lambda _d: select(*_VIEW).where(*clauses).order_by(S.id.desc()).limit(_p("limit")))


_LEASE_CLEARED: dict[str, Any] = {"sender_process": null(), "lease_until": null()}
_SETTLED = tuple(state for state in FINAL_STATES if state != "erased")

_META_GET = Statement(lambda _d: select(M.value).where(M.key == _p("key")))
_META_PUT = Statement(_meta_put)
_FIND = Statement(lambda _d: select(S.id).where(S.fact_id == _p("fact_id"), S.recipient == _p("recipient"),
                                                S.template == _p("template")))
_OPTED = Statement(lambda _d: select(O.phone_key).where(O.phone_key == _p("key")))
_ENQUEUE = Statement(_enqueue)
_DUE = Statement(lambda _d: select(*_PENDING).where(S.state == "queued", S.not_before <= _p("now"))
                 .order_by(S.not_before, S.id).limit(_p("limit")))
_NEXT_DUE = Statement(lambda _d: select(func.min(S.not_before)).where(S.state == "queued"))
_HOLD = Statement(lambda _d: update(SMS_MESSAGES).where(S.id == _p("id"), S.state == "queued")
                  .values(not_before=_p("until"), hold=_p("reason")))
_TAKE = Statement(lambda _d: select(*_PENDING).where(S.id == _p("id"), S.state == "queued",
                                                     S.not_before <= _p("now"))
                  .with_for_update(skip_locked=True))
"""The claim: the row locked by this transaction, or skipped if another worker holds it (on
SQLite, one connection and its write lock serialise the workers anyway, and FOR UPDATE is not said)."""
_HOLD_TAKEN = Statement(lambda _d: update(SMS_MESSAGES).where(S.id == _p("id"))
                        .values(not_before=_p("until"), hold=_p("reason")))
_START = Statement(lambda _d: update(SMS_MESSAGES).where(S.id == _p("id")).values(
    state="sending", sender=_p("sender"), sender_process=_p("process"), lease_until=_p("lease_until"),
    attempts=S.attempts + 1, hold=null(), units_total=func.coalesce(S.units_total, _p("units_total"))))
"""Only ever run on a row `_TAKE` locked: that lock, not this WHERE, makes the worker the only one."""
_ATTEMPT = Statement(lambda _d: SMS_ATTEMPTS.insert().values(message_id=_p("id"), at=_p("now"),
                                                             outcome=_p("outcome"), detail=_p("detail")))
_UNITS = Statement(_units)
_UNITS_SENT = Statement(lambda _d: update(SMS_MESSAGES).where(S.id == _p("id")).values(units_sent=_p("n")))
_SENT = Statement(lambda _d: update(SMS_MESSAGES).where(S.id == _p("id"), S.state == "sending")
                  .values(state="sent", sent_at=_p("now"), last_error=null(), **_LEASE_CLEARED))
_RETRY_LATER = Statement(lambda _d: update(SMS_MESSAGES).where(S.id == _p("id"), S.state == "sending")
                         .values(state="queued", last_error=_p("error"), not_before=_p("until"), hold="retry",
                                 **_LEASE_CLEARED))
_FAILED = Statement(lambda _d: update(SMS_MESSAGES).where(S.id == _p("id"), S.state == "sending")
                    .values(state="failed", last_error=_p("error"), hold=null(), **_LEASE_CLEARED))
_RETRY = Statement(lambda _d: update(SMS_MESSAGES).where(S.id == _p("id"), S.state == "failed")
                   .values(state="queued", attempts=0, not_before=_p("now"), hold=null()))
_RECOVER = Statement(lambda _d: update(SMS_MESSAGES).where(
    S.state == "sending",
    or_(S.sender_process == _p("process"), S.sender_process.is_(None), S.lease_until < _p("now")),
).values(state="queued", not_before=_p("now"), hold="retry", last_error=_p("error"), **_LEASE_CLEARED))
"""Messages in hand of this process's last run, of a release before leases, or of a process whose
lease ran out: never those of another process still within its lease."""
_RECLAIM = Statement(lambda _d: update(SMS_MESSAGES).where(S.state == "sending", S.lease_until < _p("now"))
                     .values(state="queued", not_before=_p("now"), hold="retry", last_error=_p("error"),
                             **_LEASE_CLEARED))
_REPORTED_UNIT = Statement(lambda _d: select(U.message_id, U.unit).select_from(
    SMS_UNITS.join(SMS_MESSAGES, S.id == U.message_id)).where(
    U.reference == _p("reference"), S.phone_key == _p("key"), U.sent_at >= _p("since"),
).order_by(U.sent_at.desc(), U.message_id.desc()).limit(1))
_UNIT_REPORT = Statement(lambda _d: update(SMS_UNITS).where(U.message_id == _p("id"), U.unit == _p("unit"))
                         .values(report=_p("verdict"), reported_at=_p("now")))
_UNIT_REPORTS = Statement(lambda _d: select(U.report).where(U.message_id == _p("id")))
_UNITS_TOTAL = Statement(lambda _d: select(S.units_total).where(S.id == _p("id")))
_UNDELIVERED = Statement(lambda _d: update(SMS_MESSAGES)
                         .where(S.id == _p("id"), _state_is("sent", "delivered"))
                         .values(state="undelivered", last_error=_p("error")))
_DELIVERED = Statement(lambda _d: update(SMS_MESSAGES).where(S.id == _p("id"), S.state == "sent")
                       .values(state="delivered", delivered_at=_p("now")))
_INCOMING = Statement(lambda _d: SMS_INCOMING.insert().values(
    phone=_p("phone"), phone_key=_p("key"), phone_masked=_p("masked"), text=_p("text"),
    received_at=_p("at"), action=_p("action")))
_OPT_OUT = Statement(_opt_out)
_OPT_OUT_STOPS = Statement(lambda _d: update(SMS_MESSAGES)
                           .where(S.phone_key == _p("key"), S.state == "queued")
                           .values(state="opted_out", hold=null()))
_ERASE_UNSENT = Statement(lambda _d: update(SMS_MESSAGES).where(S.phone_key == _p("key"),
                                                                _state_is("queued", "sending"))
                          .values(state="erased", hold=null()))
_ERASE_NUMBER = Statement(lambda _d: update(SMS_MESSAGES).where(S.phone_key == _p("key"))
                          .values(phone=null(), phone_key=null(), phone_masked="(erased)"))
_ERASE_REPLIES = Statement(lambda _d: SMS_INCOMING.delete().where(N.phone_key == _p("key")))
_ERASE_SETTLED = Statement(lambda _d: update(SMS_MESSAGES).where(
    S.phone.is_not(None), _state_is(*_SETTLED), S.created_at < _p("cutoff"),
).values(phone=null(), phone_key=null(), phone_masked="(erased)"))
_ERASE_OLD_REPLIES = Statement(lambda _d: SMS_INCOMING.delete().where(N.received_at < _p("cutoff")))
_SEND_TIMES = Statement(lambda _d: select(S.sent_at)
                        .where(S.phone_key == _p("key"), S.sent_at >= _p("since")))
_ALL_SEND_TIMES = Statement(lambda _d: select(S.sent_at).where(S.sent_at >= _p("since")))
_IN_HAND = Statement(lambda _d: select(func.count()).select_from(SMS_MESSAGES)
                     .where(S.state == "sending", S.phone_key == _p("key")))
_ALL_IN_HAND = Statement(lambda _d: select(func.count()).select_from(SMS_MESSAGES)
                         .where(S.state == "sending"))
_COUNTS = Statement(lambda _d: select(S.state, func.count()).group_by(S.state).order_by(S.state))
_MESSAGES = {(by_state, by_fact): _messages(by_state, by_fact)
             for by_state in (False, True) for by_fact in (False, True)}
_ATTEMPTS = Statement(_attempts)
_REPLIES = Statement(lambda _d: select(N.phone_masked, N.text, N.received_at, N.action)
                     .order_by(N.id.desc()).limit(_p("limit")))
_OPT_OUT_COUNT = Statement(lambda _d: select(func.count()).select_from(SMS_OPT_OUTS))
_PHONE_LOCK = Statement(lambda _d: select(func.pg_advisory_xact_lock(_p("key"))))


def phone_lock_key(phone_key: str) -> int:
    """The advisory-lock key of one number (by its digest, never the number): the first 8 bytes
    of SHA-256 of `PHONE_LOCK_NAMESPACE + phone_key`, big-endian, signed 64-bit (as
    `central.hall_lock`'s)."""
    digest = hashlib.sha256((PHONE_LOCK_NAMESPACE + phone_key).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def this_process() -> str:
    """A name for a process that was given none: its host and pid (a restart is another one)."""
    return f"{socket.gethostname()}:{os.getpid()}"


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


class Taken:
    """One queued message held by this worker while it decides (quiet hours, rate limits): the
    row locked, and on PostgreSQL its number's advisory lock held, until `SmsOutbox.take` ends."""

    def __init__(self, sql: Connection, message: Pending, now_ms: int, process: str, lease_ms: int) -> None:
        self._sql = sql
        self.message = message
        self._now = now_ms
        self._process = process
        self._lease_ms = lease_ms

    def send_times(self, since_ms: int) -> list[int]:
        """This number's sends since `since_ms` by every worker; one in another's hand counts as now."""
        key = self.message.phone_key
        times = [int(r[0]) for r in _SEND_TIMES.run(self._sql, {"key": key, "since": since_ms}).fetchall()]
        in_hand = int(_IN_HAND.run(self._sql, {"key": key}).fetchall()[0][0])
        return times + [self._now] * in_hand

    def all_send_times(self, since_ms: int) -> list[int]:
        """Every number's sends since `since_ms`, those in any worker's hand counted as now."""
        times = [int(r[0]) for r in _ALL_SEND_TIMES.run(self._sql, {"since": since_ms}).fetchall()]
        in_hand = int(_ALL_IN_HAND.run(self._sql).fetchall()[0][0])
        return times + [self._now] * in_hand

    def hold(self, until_ms: int, reason: str) -> None:
        _HOLD_TAKEN.run(self._sql, {"id": self.message.id, "until": until_ms, "reason": reason})

    def start(self, sender: str, units_total: int) -> None:
        """Sending begins: the message is this process's until its lease ends."""
        _START.run(self._sql, {"id": self.message.id, "sender": sender, "process": self._process,
                               "lease_until": self._now + self._lease_ms, "units_total": units_total})
        _ATTEMPT.run(self._sql, {"id": self.message.id, "now": self._now, "outcome": "started",
                                 "detail": None})


class SmsOutbox:
    """The SMS store: a SQLite file (WAL) or central's PostgreSQL database; safe to share between threads."""

    def __init__(self, store: str | Path | StoreUrl, *, process: str | None = None,
                 lease_ms: int = DEFAULT_LEASE_MS) -> None:
        self.url = store if isinstance(store, StoreUrl) else StoreUrl.sqlite_file(Path(store))
        self.path = self.url.path
        """The SQLite file (None: the outbox is in a PostgreSQL database)."""
        self.process = process or this_process()
        """Whose messages `recover` takes back at once: give each central process its own name."""
        self.lease_ms = lease_ms
        self.dialect = "sqlite" if self.url.is_sqlite else "postgresql"
        self._engine = open_engine(self.url)
        # SQLite: one connection for the file, shared by the threads one transaction at a time.
        # PostgreSQL: a connection from the pool per transaction, no lock in the process.
        self._lock: threading.RLock | None = threading.RLock() if self.url.is_sqlite else None
        if self.url.is_sqlite:
            with self._engine.connect() as sql:  # the file's own connection, outside a transaction
                raw = sqlite_driver(sql)
                assert raw is not None
                upgrade_file(raw)
                # An erased number must not stay behind in freed space of the file.
                raw.execute("PRAGMA secure_delete=ON")
        with self._tx() as sql:
            # Two processes starting together on one database: the first insert wins, both read it.
            _META_PUT.run(sql, {"key": "phone_key", "value": secrets.token_hex(32)})
            value = _META_GET.run(sql, {"key": "phone_key"}).fetchall()[0][0]
        self._key = bytes.fromhex(value)

    @contextmanager
    def _lock_held(self) -> Iterator[None]:
        if self._lock is None:
            yield
            return
        with self._lock:
            yield

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self._lock_held(), self._engine.begin() as sql:
            yield sql

    def _rows(self, statement: Statement, params: dict[str, Any] | None = None) -> list[Any]:
        with self._tx() as sql:
            return list(statement.run(sql, params).fetchall())

    def close(self) -> None:
        with self._lock_held():
            self._engine.dispose()

    def digest(self, phone: str) -> str:
        return phone_digest(self._key, phone)

    # --- writing messages ---------------------------------------------------

    def enqueue(self, draft: Draft, now_ms: int) -> tuple[int, bool]:
        """Store a message once per (fact, recipient, template); returns (id, newly stored).

        The key makes a fact queued again (a feed's claim that died before its commit, a resent
        batch, another process) a no-op: the row already there is answered, sent or not."""
        phone = normalize_phone(draft.phone) if draft.phone else None
        key = self.digest(phone) if phone else None
        found = {"fact_id": draft.fact_id, "recipient": draft.recipient, "template": draft.template}
        with self._tx() as sql:
            existing = _FIND.run(sql, found).fetchall()
            if existing:
                return int(existing[0][0]), False
            if phone is None:
                state, error = "unaddressed", "no phone number known for this recipient"
            elif _OPTED.run(sql, {"key": key}).fetchall():
                state, error = "opted_out", None
            else:
                state, error = "queued", None
            stored = _ENQUEUE.run(sql, {
                **found, "fact_type": draft.fact_type, "subject": draft.subject, "phone": phone,
                "phone_key": key, "phone_masked": mask_phone(phone), "text": draft.text, "parts": draft.parts,
                "state": state, "now": now_ms, "error": error, "concat_ref": secrets.randbelow(256),
            }).fetchall()
            if stored:
                return int(stored[0][0]), True
            # Another process stored it since our look-up (its commit came between): theirs stands.
            return int(_FIND.run(sql, found).fetchall()[0][0]), False

    def due(self, now_ms: int, limit: int) -> list[Pending]:
        return [Pending(*row) for row in self._rows(_DUE, {"now": now_ms, "limit": limit})]

    def next_due(self) -> int | None:
        """When the earliest queued message may go (None: nothing queued)."""
        value = self._rows(_NEXT_DUE)[0][0]
        return None if value is None else int(value)

    def hold(self, message_id: int, until_ms: int, reason: str) -> None:
        with self._tx() as sql:
            _HOLD.run(sql, {"id": message_id, "until": until_ms, "reason": reason})

    @contextmanager
    def take(self, message_id: int, now_ms: int) -> Iterator[Taken | None]:
        """Hold a due message for one decision, in one transaction: None if another worker holds it
        or it is no longer queued and due (sent, opted out, erased, held since it was read).

        On PostgreSQL the row is locked `FOR UPDATE SKIP LOCKED` (a second worker skips it, and
        after this commit finds it no longer queued), then the number's advisory lock is taken,
        so two workers never count the same number's sends at once (`Taken.send_times`)."""
        with self._tx() as sql:
            rows = _TAKE.run(sql, {"id": message_id, "now": now_ms}).fetchall()
            if not rows:
                yield None
                return
            message = Pending(*rows[0])
            if self.dialect == "postgresql" and message.phone_key is not None:
                _PHONE_LOCK.run(sql, {"key": phone_lock_key(message.phone_key)})
            yield Taken(sql, message, now_ms, self.process, self.lease_ms)

    def claim(self, message_id: int, sender: str, units_total: int, now_ms: int) -> bool:
        """Mark a message as being sent by this process; False if it is not queued and due (or
        another worker holds it)."""
        with self.take(message_id, now_ms) as taken:
            if taken is None:
                return False
            taken.start(sender, units_total)
            return True

    def record_units(self, message_id: int, first_unit: int, references: tuple[str | None, ...],
                     now_ms: int) -> None:
        """Units the sender accepted: they are never sent again, whatever happens next."""
        if not references:
            return
        with self._tx() as sql:
            _UNITS.run_many(sql, [{"id": message_id, "unit": first_unit + i, "reference": ref, "now": now_ms}
                                  for i, ref in enumerate(references)])
            _UNITS_SENT.run(sql, {"id": message_id, "n": first_unit + len(references)})

    def mark_sent(self, message_id: int, now_ms: int) -> None:
        with self._tx() as sql:
            _SENT.run(sql, {"id": message_id, "now": now_ms})
            _ATTEMPT.run(sql, {"id": message_id, "now": now_ms, "outcome": "sent", "detail": None})

    def mark_retry(self, message_id: int, error: str, not_before: int, now_ms: int) -> None:
        with self._tx() as sql:
            _RETRY_LATER.run(sql, {"id": message_id, "error": error, "until": not_before})
            _ATTEMPT.run(sql, {"id": message_id, "now": now_ms, "outcome": "retry", "detail": error})

    def mark_failed(self, message_id: int, error: str, now_ms: int) -> None:
        with self._tx() as sql:
            _FAILED.run(sql, {"id": message_id, "error": error})
            _ATTEMPT.run(sql, {"id": message_id, "now": now_ms, "outcome": "failed", "detail": error})

    def retry(self, message_id: int, now_ms: int) -> bool:
        """Put a failed message back in the queue (an operator's decision, e.g. after a modem swap)."""
        with self._tx() as sql:
            return bool(_RETRY.run(sql, {"id": message_id, "now": now_ms}).rowcount)

    def recover(self, now_ms: int) -> int:
        """At a start, and at every pass for others' leases: a message left `sending` by this process's
        last run, or by any process whose lease has ended, goes back to the queue, keeping its
        accepted parts. Another live process's message in hand (its lease running) is left to it."""
        with self._tx() as sql:
            return _RECOVER.run(sql, {"process": self.process, "now": now_ms,
                                      "error": "interrupted by a restart while sending"}).rowcount

    def reclaim_expired(self, now_ms: int) -> int:
        """Messages whose sending process let its lease end (killed, hung): queued again."""
        with self._tx() as sql:
            return _RECLAIM.run(sql, {"now": now_ms, "error": "its sending process's lease ended"}).rowcount

    # --- what comes back ----------------------------------------------------

    def record_report(self, report: DeliveryReport, now_ms: int) -> int | None:
        """A status report for a part; returns the message id it belongs to, if found."""
        key = self.digest(report.phone)
        with self._tx() as sql:
            rows = _REPORTED_UNIT.run(sql, {"reference": report.reference, "key": key,
                                            "since": now_ms - REPORT_WINDOW_MS}).fetchall()
            if not rows:
                return None
            message_id, unit = int(rows[0][0]), int(rows[0][1])
            verdict = "delivered" if report.delivered else ("failed" if report.final else "pending")
            _UNIT_REPORT.run(sql, {"id": message_id, "unit": unit, "verdict": verdict, "now": now_ms})
            reports = [r[0] for r in _UNIT_REPORTS.run(sql, {"id": message_id}).fetchall()]
            total = _UNITS_TOTAL.run(sql, {"id": message_id}).fetchall()[0][0]
            if "failed" in reports:
                _UNDELIVERED.run(sql, {"id": message_id,
                                       "error": f"status report: {report.status or 'not delivered'}"})
            elif len(reports) == total and all(r == "delivered" for r in reports):
                _DELIVERED.run(sql, {"id": message_id, "now": now_ms})
            return message_id

    def record_incoming(self, incoming: IncomingSms, action: str, now_ms: int) -> None:
        phone = normalize_phone(incoming.phone)
        with self._tx() as sql:
            _INCOMING.run(sql, {"phone": phone, "key": self.digest(phone), "masked": mask_phone(phone),
                                "text": incoming.text, "at": incoming.received_ms or now_ms,
                                "action": action})

    def opt_out(self, phone: str, via: str, now_ms: int) -> int:
        """Stop every message to this number, now and later; returns how many queued ones were stopped."""
        key = self.digest(phone)
        with self._tx() as sql:
            _OPT_OUT.run(sql, {"key": key, "now": now_ms, "via": via})
            return _OPT_OUT_STOPS.run(sql, {"key": key}).rowcount

    def opted_out(self, phone: str) -> bool:
        return bool(self._rows(_OPTED, {"key": self.digest(phone)}))

    def erase(self, phone: str) -> dict[str, int]:
        """Remove a number from the SMS store: messages keep their text and state, not the number.

        A message not yet sent to it can never be sent now (`erased`). The opt-out
        digest stays, so a citizen who said 退订 is not messaged again if the number
        comes back with a new case.
        """
        key = self.digest(phone)
        with self._tx() as sql:
            unsent = _ERASE_UNSENT.run(sql, {"key": key}).rowcount
            messages = _ERASE_NUMBER.run(sql, {"key": key}).rowcount
            incoming = _ERASE_REPLIES.run(sql, {"key": key}).rowcount
        self._forget_old_versions()
        return {"messages": messages, "unsent": unsent, "incoming": incoming}

    def _forget_old_versions(self) -> None:
        """After an erasure, outside its transaction: the rows' old images go too, as far as the
        database lets us.

        SQLite: copy the write-ahead log into the file and truncate it, so the pages that held an
        erased number do not linger in it (`secure_delete` zeroes freed space in the file). PostgreSQL
        keeps an overwritten row's old version as a dead tuple until VACUUM: so VACUUM the tables
        an erasure touches. Only their owner may (for `hall_central` the server skips it with a
        warning: let the owner's nightly `vacuumdb` do it); the freed bytes may stay until
        overwritten, and in WAL archives and backups until those expire (docs/operations.md)."""
        with self._lock_held(), self._engine.connect() as sql:
            raw = sqlite_driver(sql)
            if raw is not None:
                raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                return
            sql.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                f"VACUUM {', '.join(ERASED_TABLES)}")

    def erase_before(self, cutoff_ms: int) -> dict[str, int]:
        """Retention: messages settled (sent, delivered, failed, ...) and created before `cutoff_ms`
        keep their text and state, not their number; replies received before it are deleted.

        A message still queued keeps its number: it has yet to go out. Opt-outs stay (digests).
        """
        with self._tx() as sql:
            messages = _ERASE_SETTLED.run(sql, {"cutoff": cutoff_ms}).rowcount
            incoming = _ERASE_OLD_REPLIES.run(sql, {"cutoff": cutoff_ms}).rowcount
        if messages or incoming:
            self._forget_old_versions()
        return {"messages": messages, "incoming": incoming}

    # --- reading ------------------------------------------------------------

    def send_times(self, phone_key: str, since_ms: int) -> list[int]:
        return [int(r[0]) for r in self._rows(_SEND_TIMES, {"key": phone_key, "since": since_ms})]

    def all_send_times(self, since_ms: int) -> list[int]:
        return [int(r[0]) for r in self._rows(_ALL_SEND_TIMES, {"since": since_ms})]

    def counts(self) -> dict[str, int]:
        return {state: int(n) for state, n in self._rows(_COUNTS)}

    def messages(self, *, state: str | None = None, fact_id: str | None = None,
                 limit: int = 100) -> list[MessageView]:
        statement = _MESSAGES[(state is not None, fact_id is not None)]
        rows = self._rows(statement, {"state": state, "fact_id": fact_id, "limit": limit})
        return [MessageView(*row) for row in rows]

    def attempts(self, message_id: int) -> list[tuple[int, str, str | None]]:
        rows = self._rows(_ATTEMPTS, {"id": message_id})
        return [(int(at), outcome, detail) for at, outcome, detail in rows]

    def incoming(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self._rows(_REPLIES, {"limit": limit})
        return [{"phone": p, "text": t, "received_at": r, "action": a} for p, t, r, a in rows]

    def opt_out_count(self) -> int:
        return int(self._rows(_OPT_OUT_COUNT)[0][0])
