"""The big screen's feed on PostgreSQL: every central process hears every change (LISTEN/NOTIFY).

With several central processes over one database (one ingesting and ticking,
others serving HTTP behind a load balancer), a change made in one must reach the
screens connected to any. `publish` sends `pg_notify` on one channel: inside the
writer's transaction when it hands one over (the server delivers a notification
only when that transaction commits, so no screen is told of a change it cannot
read yet), else in a transaction of its own right after the writer's commit.

Each process has one listener thread on its own connection (`LISTEN`), which
feeds the process's `ChangeFeed`: the event-stream handlers read that as before.
The publisher hears its own notifications there too, and only there: a change is
counted once, and every process sees the changes in the order they committed.

A notifying transaction's commit waits for every other's (the server queues them in
commit order under one lock), so the ingest does not notify on every batch: at most
one batch's transaction per `STORED_GAP_S` in each process carries a notification.
A batch stored sooner is owed one: the next batch's carries it (this process's
batches commit one after the other), or, if none comes, the listener sends it once
the owed halls' advisory locks (`central.hall_lock`) are free, that is once the owed
batches' transactions have ended.

NOTIFY is not durable: a listener that lost its connection missed what was said
meanwhile. It reconnects with backoff, and once back it bumps the version, so
every screen redraws its board (a missed escalation's light is on the board; only
its line in the ticker is gone). A notification carries at most `PAYLOAD_LIMIT`
bytes (the server refuses 8000 or more): long texts are cut, and past that only
the kind goes; a screen reads the board again anyway.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from itertools import count
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from central.hall_lock import hall_lock_key
from central.web.feed import ChangeFeed, Happening, ScreenFeed
from spine.engines import open_engine
from spine.statement import Tx
from spine.storeurl import StoreUrl

log = logging.getLogger(__name__)

CHANNEL = "hallwatch_screen"
"""The one channel of the big screen's changes (LISTEN/NOTIFY channels are per database)."""
APPLICATION_NAME = "hallwatch screen feed"
"""How the listener's connection shows in `pg_stat_activity`."""
PAYLOAD_LIMIT = 4000
"""Bytes of one notification's payload, well below the server's 8000."""
TEXT_CUT = 200
"""Characters of one text kept when a payload is too long."""
POLL_S = 0.25
"""How often the listener looks up from waiting: to notice it should stop, and to send what is owed."""
STORED_GAP_S = 0.25
"""Stored batches announce themselves at most this often per process (a screen polls every 0.5 s)."""
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
OWED_WAIT_MS = 2000
"""How long the listener waits for an owed batch's hall before it tries again later."""
LISTEN_WAIT_S = 10.0
"""How long `start` waits for the first LISTEN before it goes on and lets the thread retry."""

_NOTIFY = text("SELECT pg_notify(:channel, :payload)")
_WAIT_FOR_HALL = "SELECT pg_advisory_xact_lock_shared(%s)"
"""Waits until no transaction holds the hall's stream (its batch committed or rolled back)."""


def open_feed(store: StoreUrl) -> ScreenFeed:
    """The feed for central's event store: in this process on a SQLite file (one central
    process), through NOTIFY on PostgreSQL (every process over the database hears it)."""
    return ChangeFeed() if store.is_sqlite else NotifyFeed(store)


class NotifyFeed:
    """A `ScreenFeed` shared by every central process over one PostgreSQL database."""

    def __init__(self, store: StoreUrl, keep: int = 500, *, stored_gap_s: float = STORED_GAP_S) -> None:
        self.store = store
        self.stored_gap_s = stored_gap_s
        self.local = ChangeFeed(keep)
        """What this process's readers read: fed by the listener only."""
        # Who sent a notification, and its number there: in logs and tests, and two equal
        # happenings in one transaction stay two (the server folds identical payloads).
        self.origin = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._numbers = count(1)
        self._numbers_lock = threading.Lock()
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self._stored_lock = threading.Lock()
        self._stored_told_at = -stored_gap_s
        self._owed: set[str] = set()
        """Halls of batches stored without a notification of their own, not yet covered by one."""
        self.listener = FeedListener(store, self._hear, self._send_owed)

    # --- what the readers read ------------------------------------------------------

    @property
    def version(self) -> int:
        return self.local.version

    def since(self, version: int) -> list[Happening]:
        return self.local.since(version)

    # --- what the writers say ---------------------------------------------------------

    def publish(self, kind: str, data: dict[str, Any] | None = None, *, tx: Tx | None = None) -> None:
        self._notify([self._payload(kind, data or {})], tx)

    def publish_many(self, happenings: Iterable[tuple[str, dict[str, Any]]]) -> None:
        payloads = [self._payload(kind, data) for kind, data in happenings]
        if payloads:
            self._notify(payloads, None)

    def touch(self, *, tx: Tx | None = None) -> None:
        self._notify([self._payload(None, {})], tx)

    def stored(self, tx: Tx, hall: str) -> None:
        now = time.monotonic()
        with self._stored_lock:
            if now - self._stored_told_at < self.stored_gap_s:
                self._owed.add(hall)
                return
            self._stored_told_at = now
            # This process's earlier batches have ended: its store runs one transaction at a time.
            self._owed.clear()
        self.touch(tx=tx)

    def _send_owed(self, connection: Any) -> None:
        """On the listener's connection, between waits: the notification owed to batches stored
        without one, once their transactions have ended (and a while has passed)."""
        with self._stored_lock:
            if not self._owed or time.monotonic() - self._stored_told_at < self.stored_gap_s:
                return
            halls, self._owed = sorted(self._owed), set()
            self._stored_told_at = time.monotonic()
        import psycopg

        try:
            with connection.transaction():
                # A batch that holds its hall this long is stuck elsewhere: try again at the next
                # look-up rather than leave the notifications of other processes unread meanwhile.
                connection.execute(f"SET LOCAL lock_timeout = '{OWED_WAIT_MS}ms'")
                for hall in halls:
                    connection.execute(_WAIT_FOR_HALL, (hall_lock_key(hall),))
                connection.execute("SELECT pg_notify(%s, %s)", (CHANNEL, self._payload(None, {})))
        except psycopg.errors.LockNotAvailable:
            with self._stored_lock:
                self._owed.update(halls)

    def _payload(self, kind: str | None, data: dict[str, Any]) -> str:
        with self._numbers_lock:
            number = next(self._numbers)
        return payload_of(self.origin, number, kind, data)

    def _notify(self, payloads: list[str], tx: Tx | None) -> None:
        rows = [{"channel": CHANNEL, "payload": p} for p in payloads]
        if tx is not None:
            if isinstance(tx, sqlite3.Connection):
                raise TypeError("a NotifyFeed announces inside a PostgreSQL transaction, not a SQLite one")
            _execute(tx, rows)  # errors belong to the writer's transaction: it rolls back
            return
        try:
            with self._publisher().begin() as connection:
                _execute(connection, rows)
        except DBAPIError as exc:
            # The writer's change is committed; only the telling failed. This process's screens
            # still hear it; the others' redraw when their listener comes back or at the page's
            # 30-second refresh.
            log.warning("the big screen's change could not be announced to the other central processes "
                        "(%s); their screens catch up at their next refresh. Is PostgreSQL reachable?",
                        type(exc.orig).__name__ if exc.orig is not None else exc)
            for payload in payloads:
                self._hear(payload)

    def _publisher(self) -> Engine:
        with self._engine_lock:
            if self._engine is None:
                self._engine = open_engine(self.store)
            return self._engine

    def _hear(self, payload: str | None) -> None:
        """A notification heard (or, when it could not be sent, said here) into the local feed;
        None: something may have been missed, every screen redraws."""
        if payload is None:
            self.local.touch()
            return
        try:
            note = json.loads(payload)
            kind, data = note.get("k"), note.get("d") or {}
        except (ValueError, AttributeError):
            log.warning("a notification on %s that is not the big screen's: redrawing", CHANNEL)
            kind, data = None, {}
        if isinstance(kind, str) and isinstance(data, dict):
            self.local.publish(kind, data)
        else:
            self.local.touch()

    def diagnostics(self) -> dict[str, Any]:
        with self._stored_lock:
            owed = sorted(self._owed)
        return {"heard_from": f"every central process (NOTIFY {CHANNEL})", "version": self.version,
                "listening": self.listener.listening.is_set(), "connections": self.listener.connections,
                "owed_halls": owed}

    # --- life cycle -----------------------------------------------------------------

    def start(self) -> None:
        self.listener.start()

    def close(self) -> None:
        self.listener.stop()
        with self._engine_lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


def _execute(connection: Connection, rows: list[dict[str, str]]) -> None:
    # Several rows go as one executemany: psycopg pipelines them, in order.
    connection.execute(_NOTIFY, rows if len(rows) > 1 else rows[0])


def payload_of(origin: str, number: int, kind: str | None, data: dict[str, Any]) -> str:
    """One notification's payload, at most `PAYLOAD_LIMIT` bytes: long texts cut, then the data
    left out (the screen reads the board again anyway)."""
    note: dict[str, Any] = {"o": origin, "n": number, "k": kind, "d": data}
    said = _json(note)
    if len(said.encode()) <= PAYLOAD_LIMIT:
        return said
    note["d"] = {key: value[:TEXT_CUT] + "…" if isinstance(value, str) and len(value) > TEXT_CUT else value
                 for key, value in data.items()}
    said = _json(note)
    if len(said.encode()) <= PAYLOAD_LIMIT:
        return said
    return _json({"o": origin, "n": number, "k": kind, "d": {}})


def _json(note: dict[str, Any]) -> str:
    return json.dumps(note, ensure_ascii=False, separators=(",", ":"), default=str)


class FeedListener:
    """One thread, one connection of its own: LISTEN on the channel, each notification handed to
    `hear` in the order the server delivers them (the order their transactions committed)."""

    def __init__(self, store: StoreUrl, hear: Callable[[str | None], None],
                 between: Callable[[Any], None] = lambda _connection: None) -> None:
        self.store = store
        self.hear = hear
        self.between = between
        """Run on the connection between waits for notifications (what the feed owes)."""
        self.listening = threading.Event()
        """Set while LISTEN holds on a live connection."""
        self.connections = 0
        """How many times it has connected and listened (a reconnect makes it 2, 3...)."""
        self.backend_pid: int | None = None
        """The server process of the listening connection (`pg_stat_activity.pid`)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="screen-feed-listener", daemon=True)
        self._thread.start()
        if not self.listening.wait(LISTEN_WAIT_S):
            log.warning("the big screen's feed is not listening on PostgreSQL yet; it keeps trying "
                        "(changes made by other central processes reach this one's screens once it does)")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(POLL_S * 4 + 5)
            self._thread = None

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(
            host=self.store.host, port=self.store.port, user=self.store.user, dbname=self.store.database,
            password=self.store.password(), autocommit=True, application_name=APPLICATION_NAME,
            connect_timeout=10,
            # A server that vanishes without closing the connection (a cut cable) is noticed too.
            keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3)

    def _run(self) -> None:
        import psycopg

        backoff = FIRST_BACKOFF_S
        lost = False
        while not self._stop.is_set():
            try:
                with self._connect() as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self.backend_pid = connection.info.backend_pid
                    self.connections += 1
                    self.listening.set()
                    backoff = FIRST_BACKOFF_S
                    if lost:
                        lost = False
                        log.info("the big screen's feed listens on PostgreSQL again; screens redraw "
                                 "(what other processes announced meanwhile is on the board, not in "
                                 "the ticker)")
                        self.hear(None)
                    while not self._stop.is_set():
                        for note in connection.notifies(timeout=POLL_S):
                            self.hear(note.payload)
                        self.between(connection)
            except psycopg.Error as exc:
                self.listening.clear()
                if not lost:
                    lost = True
                    log.warning("the big screen's feed lost PostgreSQL (%s: %s); this process's screens "
                                "hear no changes of other processes until it is back; retrying up to "
                                "every %.0f s (check the database server and the network)",
                                type(exc).__name__, str(exc).strip().splitlines()[0] if str(exc) else "",
                                MAX_BACKOFF_S)
            except Exception:  # a bug must not silence the screens for good: log it, listen again
                self.listening.clear()
                lost = True
                log.exception("the big screen's feed listener failed; listening again")
            if not self._stop.is_set():
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
        self.listening.clear()
