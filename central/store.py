"""Central's event store: every event of every hall, once, append-only.

What a hall's gateway forwards is admitted (`admit`) and stored in one
transaction; a fact refused as an author's overstep is kept as a dead letter
and raised as a security alarm (`central.alarms`) in that same transaction.

On PostgreSQL, several central processes may store batches of the same hall: each
batch's transaction holds the hall's advisory lock (`central.hall_lock`). Batches of
different halls append at once, so a lower `events.id` can commit after a higher one:
each batch's transaction also holds `APPENDING_LOCK` shared, right after its hall's, and
a reader that follows the log by id takes it exclusively to learn a top below which
nothing is still being written (`central.anomalies.feeds.settled_top`).

The store lives in a SQLite file (the default) or in a PostgreSQL database
(`StoreUrl`); its own statements are SQLAlchemy Core, written once for both. The
parts of central that still write SQLite's SQL themselves (the projections, the
handlers) reach the file through `transaction()` and `query()`, which a store on
PostgreSQL refuses with `SqliteOnly` until those parts move too (docs/operations.md,
"Central on PostgreSQL").
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from psycopg import errors as psycopg_errors
from sqlalchemy import BigInteger, Column, Connection, Integer, MetaData, Table, Text, bindparam, func, select

from central.alarms import SCHEMA as ALARMS_SCHEMA
from central.alarms import SECURITY_ALARMS, SecurityAlarm, record_alarm
from central.eventcheck import StoreReport, check_events
from central.hall_lock import hold_hall
from contract.topics import parse_central_topic
from spine.clock import Clock
from spine.engines import open_engine
from spine.eventlog import EventLog, commit_batch
from spine.handlers import EventHandler, HandlerContext
from spine.receiver import (
    DEAD_LETTERS,
    RECEIVER_SCHEMA,
    STREAM_POSITION,
    STREAMS,
    AcceptedEvent,
    DeadLetter,
    IncomingBatch,
    OutOfOrder,
    Refusal,
    advance_stream,
    follows,
    read_stream_position,
    store_dead_letter,
    stream_position,
)
from spine.sqlite import Finishing
from spine.statement import Statement, Tx, begin_in_pipeline, insert_for, pipelined
from spine.storeurl import StoreUrl

T = TypeVar("T")

EVENT_LOG = EventLog(
    columns=(
        ("hall", "TEXT NOT NULL"),
        ("device", "TEXT NOT NULL"),
        ("seq", "INTEGER NOT NULL"),
        ("type", "TEXT NOT NULL"),
        ("device_time", "INTEGER NOT NULL"),
        ("gateway_time", "INTEGER"),
        ("est_time", "INTEGER"),
        ("received_at", "INTEGER NOT NULL"),
        ("payload", "TEXT NOT NULL"),
    ),
    device_key=("hall", "device", "seq"),
)
"""Every event of every hall, as central stored it (the gateway keeps its own with other columns)."""

SCHEMA = EVENT_LOG.schema() + """
CREATE TABLE IF NOT EXISTS hall_status (
    hall TEXT PRIMARY KEY,
    online INTEGER NOT NULL,
    reason TEXT,
    last_seen INTEGER,
    heartbeat TEXT
);
""" + RECEIVER_SCHEMA + ALARMS_SCHEMA
"""The store's tables in a SQLite file, created as the store opens (what `TABLES` is on PostgreSQL)."""

TABLES = MetaData()
"""The store's tables in SQLAlchemy Core: created on PostgreSQL by `hall central migrate`."""
EVENT_LOG.table(TABLES)
HALL_STATUS = Table(
    "hall_status", TABLES,
    Column("hall", Text, primary_key=True),
    Column("online", Integer, nullable=False),
    Column("reason", Text),
    Column("last_seen", BigInteger),
    Column("heartbeat", Text),
)
for _table in (DEAD_LETTERS, STREAMS, SECURITY_ALARMS):
    _table.to_metadata(TABLES)


def _hall_status_upsert(dialect: str) -> Any:
    insert = insert_for(dialect, HALL_STATUS).values(
        {name: bindparam(name) for name in ("hall", "online", "reason", "last_seen", "heartbeat")})
    return insert.on_conflict_do_update(index_elements=["hall"], set_={
        "online": insert.excluded.online, "reason": insert.excluded.reason,
        "last_seen": insert.excluded.last_seen,
        # A status without a heartbeat (the gateway's will) keeps the last one heard.
        "heartbeat": func.coalesce(insert.excluded.heartbeat, HALL_STATUS.c.heartbeat)})


SET_HALL_STATUS = Statement(_hall_status_upsert)


APPENDING_NAMESPACE = "hallwatch central events appending"
"""Hashed into `APPENDING_LOCK`: not a hall's key nor a ledger's (each hashes a namespace of its own)."""
APPENDING_LOCK = int.from_bytes(hashlib.sha256(APPENDING_NAMESPACE.encode("utf-8")).digest()[:8], "big",
                                signed=True)
"""The advisory-lock key that every batch appending to `events` on PostgreSQL holds shared, and
that a follower of `events.id` takes exclusively for the instant it reads `max(id)`."""

_HOLD_APPENDING = Statement(lambda _dialect: select(func.pg_advisory_xact_lock_shared(bindparam("key"))))


def hold_appending(sql: Connection) -> None:
    """Inside a batch's transaction, before it appends or locks anything but its hall: hold
    `APPENDING_LOCK` shared until the transaction ends (nothing on SQLite, whose one writer
    commits ids in their order)."""
    if sql.dialect.name == "postgresql":
        _HOLD_APPENDING.run(sql, {"key": APPENDING_LOCK})


class SqliteOnly(RuntimeError):
    """A part of central that still speaks SQLite's SQL was asked to run on PostgreSQL."""


CentralHandler = EventHandler
"""Domain projections fed by stored events (statistics, device health), in the same transaction."""


class ForeseesBatch(Protocol):
    """A handler told of a batch's events before it is fed them one by one, inside the batch's
    transaction: it may read at once what all of them need (one statement on PostgreSQL instead
    of one per event). Some of them may turn out duplicates or be refused.

    It is told inside the store's first `pipelined` block: it sends its reads with
    `Statement.ask` and returns what takes their rows in, which the store runs once the
    block has ended (one round trip for the store's first statements and every such read).

    The store finds it by the method's name, not by `isinstance`: a runtime Protocol's check walks
    its members for every handler of every batch (about 1% of a batch's CPU)."""

    def foresee(self, context: HandlerContext, events: Sequence[AcceptedEvent]) -> Callable[[], None]: ...


Admit = Callable[[HandlerContext, AcceptedEvent], "AcceptedEvent | Refusal"]
"""Inside the storing transaction: the event to store, or why it is refused."""


class CentralStore:
    def __init__(self, where: Path | StoreUrl, clock: Clock, handlers: list[CentralHandler] | None = None
                 ) -> None:
        self.url = where if isinstance(where, StoreUrl) else StoreUrl.sqlite_file(where)
        self.clock = clock
        self.handlers = list(handlers or [])
        self.admit: Admit | None = None
        """Set by the ingest: its rules that need the batch's earlier facts to have taken effect."""
        self.judges: Callable[[AcceptedEvent], bool] = lambda _event: True
        """Set with `admit`: whether it may refuse this event (a batch of events it never
        refuses is appended to the log before its handlers run: `commit_batch`'s `early`)."""
        self.alarmed: Callable[[SecurityAlarm], object] = lambda _alarm: None
        """Told of each alarm once its transaction committed (the big screen refreshes)."""
        self._engine = open_engine(self.url)
        # One connection, as before: the lock orders this process's statements on it.
        self._sql = self._engine.connect()
        self._lock = threading.Lock()
        if self.url.is_sqlite:
            self._sqlite().executescript(SCHEMA)
        else:
            from central.migrations import require_current

            require_current(self._sql)

    @property
    def path(self) -> Path:
        """The SQLite file (a store on PostgreSQL has none)."""
        if self.url.path is None:
            raise SqliteOnly(f"the event store is on PostgreSQL ({self.url}), not in a file")
        return self.url.path

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    @contextmanager
    def sql_transaction(self) -> Iterator[Connection]:
        """A write transaction for statements written once for both databases (SQLAlchemy Core)."""
        with self._lock, self._sql.begin():
            yield self._sql

    @contextmanager
    def _batch_transaction(self) -> Iterator[Connection]:
        """`sql_transaction` for a batch, whose BEGIN it sends itself with its first statements
        (`begin_in_pipeline`). On PostgreSQL psycopg would otherwise send BEGIN before them and
        wait for its answer, a round trip of its own, even in a pipeline (`_start_query`): the
        driver is told it is in autocommit mode meanwhile, so it sends no BEGIN; it still sends
        the COMMIT, or the ROLLBACK, of the transaction the batch opened."""
        with self._lock:
            driver = None if self.url.is_sqlite else self._sql.connection.driver_connection
            if driver is not None:
                driver.autocommit = True
            try:
                with self._sql.begin():
                    yield self._sql
            finally:
                if driver is not None and not driver.closed:
                    # Ended (committed or rolled back) unless the connection broke; a broken one
                    # is replaced at its next use, in the default mode.
                    with suppress(psycopg_errors.ProgrammingError):
                        driver.autocommit = False

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on the SQLite file itself, for the parts that write SQLite's SQL
        (what they leave for just before the commit, `before_commit`, runs before it)."""
        with self.sql_transaction() as sql, Finishing(self._sqlite(sql)) as raw:
            yield raw

    @contextmanager
    def statements(self) -> Iterator[Tx]:
        """A write transaction for statements written once (`spine.statement`) that may leave work
        for just before the commit (`before_commit`): the projections written once for both."""
        with self.sql_transaction() as sql:
            if self.url.is_sqlite:
                with Finishing(self._sqlite(sql)) as raw:
                    yield raw
            else:
                with Finishing(sql) as portable:
                    yield portable

    def _context(self, finishing: ExitStack, sql: Connection, hall: str, now: int) -> HandlerContext:
        """A handler's context on this store's open transaction `sql` (finished by `finishing`)."""
        if self.url.is_sqlite:
            return HandlerContext(tx=finishing.enter_context(Finishing(self._sqlite(sql))), hall=hall,
                                  now_ms=now)
        return HandlerContext(tx=cast(sqlite3.Connection, _NoSqliteFile(self.url)), hall=hall, now_ms=now,
                              sql=finishing.enter_context(Finishing(sql)))

    def read(self, reader: Callable[[Tx], T]) -> T:
        """Reads written once for both databases; on SQLite outside any write transaction, as `query`."""
        with self._lock:
            if self.url.is_sqlite:
                return reader(self._sqlite())
            with self._sql.begin():
                return reader(self._sql)

    def _sqlite(self, sql: Connection | None = None) -> sqlite3.Connection:
        if not self.url.is_sqlite:
            raise SqliteOnly(
                f"this part of central still writes SQLite's SQL and cannot run on {self.url} yet "
                "(docs/operations.md, \"Central on PostgreSQL\")")
        raw = (sql or self._sql).connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        return raw

    checks_order = True
    """`commit` reads the sender's stream inside its transaction, under the hall's lock, with
    the batch's first statements (one round trip on PostgreSQL, where a read of its own took
    three: BEGIN, the read, COMMIT)."""

    def commit(self, incoming: IncomingBatch, dead: list[DeadLetter]) -> tuple[int, int]:
        """The batch stored in one transaction: (stored, duplicates). Raises `OutOfOrder`, having
        stored nothing, when it does not follow its sender's stream (`follows`)."""
        parsed = parse_central_topic(incoming.topic)
        hall = parsed[0] if parsed else "?"
        now = self.clock.wall_ms()

        def row(event: AcceptedEvent) -> dict[str, Any]:
            envelope, recv = event.envelope, event.envelope.recv
            return {"hall": hall, "device": envelope.device, "seq": envelope.seq, "type": envelope.type,
                    "device_time": envelope.time, "gateway_time": recv.at if recv else None,
                    "est_time": recv.est_time if recv else None, "received_at": now,
                    "payload": event.payload}

        alarms: list[SecurityAlarm] = []
        with self._batch_transaction() as sql, ExitStack() as finishing:
            admit = self.admit
            # What the handlers and the admission rules leave for just before the commit runs when
            # this block ends. Those still in SQLite's SQL use `tx`, which only a SQLite file has;
            # those written once for both use `portable`.
            context = (self._context(finishing, sql, hall, now)
                       if self.handlers or admit is not None else None)
            # On PostgreSQL these go in one round trip with the transaction's BEGIN: the locks,
            # the stream's advance, and the reads the batch needs (which events the log holds,
            # what the handlers foresee), whose rows are read once the block has ended. Each was
            # a round trip of its own. The server runs them in this order, each read with a
            # snapshot taken after the hall's lock was granted, as before.
            with pipelined(sql):
                begin_in_pipeline(sql)
                # First, so that another central process's batch of this hall that is being stored
                # now has committed (or rolled back) before this one asks what the log holds.
                hold_hall(sql, hall)
                # Before anything else it locks (a ledger's append, in a handler): a follower of
                # the log that waits for this batch then waits for nothing this batch waits for.
                hold_appending(sql)
                # Where the sender's stream is, then its advance: a plain write, committed with
                # the batch whenever it runs in it (`commit_batch` would run it last, a round trip
                # of its own), rolled back with it when the batch turns out not to follow.
                position = (STREAM_POSITION.ask(sql, {"sender": incoming.batch.sender})
                            if incoming.batch.after is not None else None)
                advance_stream(sql, incoming.batch)
                held = EVENT_LOG.ask_held(sql, [event.envelope.id for event in incoming.events])
                foreseen = [foresee(context, incoming.events) for foresee in self._foreseers()
                            ] if context is not None else []
            if position is not None and not follows(incoming.batch,
                                                    read_stream_position(list(position.fetchall()))):
                raise OutOfOrder(f"{incoming.batch.sender}'s batch after {incoming.batch.after} came "
                                 "before that position was stored")
            for take in foreseen:
                take()

            def stored(event: AcceptedEvent, _row_id: int | None) -> None:
                for handler in self.handlers:
                    assert context is not None
                    handler.handle(context, event)

            def admitted(event: AcceptedEvent) -> AcceptedEvent | Refusal:
                assert admit is not None and context is not None
                return admit(context, event)

            # Admission judges few kinds of events (a unit's case facts): a batch without any is
            # appended first, and on PostgreSQL the server stores it while the handlers run. Not
            # while a handler would replay the log as it is fed (a projection fed before it was
            # installed): it would meet the batch's events there, then be fed them again.
            judged = admit is not None and any(self.judges(event) for event in incoming.events)
            # (`Projection.catching_up`; read as an attribute: a runtime Protocol's isinstance walks
            # its members, on every handler of every batch.)
            early = not judged and not any(getattr(handler, "catching_up", False)
                                           for handler in self.handlers)
            result = commit_batch(
                sql, EVENT_LOG, incoming, dead, row=row, stored=stored,
                dead_letter=lambda letter: alarms.extend(self._dead_letter_in(sql, letter, hall, now)),
                admit=admitted if judged else None,
                # Central's handlers never read the log of the batch they are fed nor append to
                # it (a projection not yet installed replays the log, then takes the event).
                together=True, advanced=True, held=held(), early=early)
        for alarm in alarms:
            self.alarmed(alarm)
        return result

    def dead_letter(self, dead: DeadLetter) -> None:
        parsed = parse_central_topic(dead.topic)
        now = self.clock.wall_ms()
        with self.sql_transaction() as sql:
            alarms = self._dead_letter_in(sql, dead, parsed[0] if parsed else None, now)
        for alarm in alarms:
            self.alarmed(alarm)

    @staticmethod
    def _dead_letter_in(tx: Tx, letter: DeadLetter, hall: str | None, now: int) -> list[SecurityAlarm]:
        times = store_dead_letter(tx, letter, now)
        if not letter.alarm:
            return []
        # Whose fact it was: the device the gateway forwarded it for, else the gateway itself.
        device, kind = _author_of(letter)
        alarm = SecurityAlarm(alarm=f"central:{letter.digest}:{times}", at=now, refused_by="central",
                              hall=hall, device=device or letter.sender, kind=kind,
                              type=letter.event_type, reason=letter.reason)
        record_alarm(tx, alarm)
        return [alarm]

    def stream_position(self, sender: str) -> int | None:
        return self.read(lambda tx: stream_position(tx, sender))

    def set_hall_status(self, hall: str, online: bool, reason: str | None, heartbeat: str | None) -> None:
        with self.sql_transaction() as sql:
            SET_HALL_STATUS.run(sql, {"hall": hall, "online": int(online), "reason": reason,
                                      "last_seen": self.clock.wall_ms(), "heartbeat": heartbeat})

    def verify(self) -> StoreReport:
        """Whether the log is still as stored: its append-only guard in place, and every row's
        columns those of the envelope it keeps (`central.eventcheck`)."""
        return self.read(lambda tx: check_events(tx, self.dialect))

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """A read in SQLite's SQL (the parts that have not moved to SQLAlchemy Core yet)."""
        with self._lock:
            return self._sqlite().execute(sql, params).fetchall()

    def _foreseers(self) -> list[Callable[[HandlerContext, Sequence[AcceptedEvent]], Callable[[], None]]]:
        """The `foresee` of each handler that has one (`ForeseesBatch`)."""
        return [foresee for handler in self.handlers
                if (foresee := getattr(handler, "foresee", None)) is not None]

    def close(self) -> None:
        with self._lock:
            self._sql.close()
            self._engine.dispose()


class _NoSqliteFile:
    """A handler context's `tx` on a store on PostgreSQL: a handler still in SQLite's SQL that
    reaches for it learns why it cannot run there (the portable ones use `context.portable`)."""

    def __init__(self, url: StoreUrl) -> None:
        self._url = url

    def __getattr__(self, name: str) -> Any:
        raise SqliteOnly(
            f"a handler at central still writes SQLite's SQL and cannot run on {self._url} yet "
            "(docs/operations.md, \"Central on PostgreSQL\")")


def _author_of(letter: DeadLetter) -> tuple[str | None, str | None]:
    """The device a refused event names and the kind its gateway stamped; for a whole batch,
    the gateway that sent it."""
    try:
        raw = json.loads(letter.payload)
        if letter.event_id is None:
            device, kind = raw.get("sender"), None
        else:
            device, kind = raw.get("device"), (raw.get("recv") or {}).get("kind")
    except (ValueError, AttributeError):
        return None, None
    return (device if isinstance(device, str) else None), (kind if isinstance(kind, str) else None)
