"""The ratings tables in the gateway's SQLite file, read and written inside the storing transaction.

- `rating_sessions`: who was logged in at which window, from when until when.
- `rating_visits`: visits the queue served, the arming sent for each, and its counted outcome.
- `rating_outcomes`: every outcome a terminal reported and whether it counted.
- `rating_pending`: outcomes waiting a moment for the visit they belong to (asked before served).
- `rating_cursor`: how far the handler has read the gateway's own queue facts.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

SCHEMA = """
CREATE TABLE IF NOT EXISTS rating_sessions (
    id INTEGER PRIMARY KEY,
    window TEXT NOT NULL,
    officer TEXT NOT NULL,
    since INTEGER NOT NULL,
    until INTEGER
);
CREATE INDEX IF NOT EXISTS rating_sessions_by_window ON rating_sessions (window, since);
CREATE TABLE IF NOT EXISTS rating_visits (
    day TEXT NOT NULL,
    ticket TEXT NOT NULL,
    window TEXT NOT NULL,
    officer TEXT,
    service TEXT,
    served_at INTEGER NOT NULL,
    arming TEXT,
    outcome TEXT,
    PRIMARY KEY (day, ticket)
);
CREATE INDEX IF NOT EXISTS rating_visits_by_window ON rating_visits (window, served_at);
CREATE TABLE IF NOT EXISTS rating_outcomes (
    rating TEXT PRIMARY KEY,
    terminal TEXT NOT NULL,
    counted INTEGER NOT NULL,
    day TEXT,
    ticket TEXT
);
CREATE TABLE IF NOT EXISTS rating_pending (
    rating TEXT PRIMARY KEY,
    terminal TEXT NOT NULL,
    window TEXT NOT NULL,
    armed_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    type TEXT NOT NULL,
    event_id TEXT NOT NULL,
    body TEXT NOT NULL,
    reason TEXT,
    wait_until INTEGER
);
CREATE INDEX IF NOT EXISTS rating_pending_by_window ON rating_pending (window, armed_at);
CREATE TABLE IF NOT EXISTS rating_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_row INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class ArmedVisit:
    day: str
    ticket: str
    window: str
    officer: str | None
    service: str | None
    served_at: int
    arming: str | None
    outcome: str | None


_VISIT = "day, ticket, window, officer, service, served_at, arming, outcome"


# --- sessions --------------------------------------------------------------------------


def open_session(tx: sqlite3.Connection, window: str, officer: str | None, at: int) -> None:
    """`officer` is now at `window` (None: nobody); a different officer's session ends at `at`."""
    row = tx.execute("SELECT id, officer FROM rating_sessions WHERE window = ? AND until IS NULL "
                     "ORDER BY since DESC LIMIT 1", (window,)).fetchone()
    if row is not None and row[1] == officer:
        return
    if row is not None:
        tx.execute("UPDATE rating_sessions SET until = ? WHERE id = ?", (max(at, 0), row[0]))
    if officer:
        tx.execute("INSERT INTO rating_sessions (window, officer, since) VALUES (?, ?, ?)",
                   (window, officer, at))


def officer_at(tx: sqlite3.Connection, window: str, at: int) -> str | None:
    """Who was logged in at `window` at time `at` (gateway clock)."""
    row = tx.execute(
        "SELECT officer FROM rating_sessions WHERE window = ? AND since <= ? "
        "AND (until IS NULL OR until > ?) ORDER BY since DESC LIMIT 1", (window, at, at)).fetchone()
    return row[0] if row else None


# --- visits ----------------------------------------------------------------------------


def add_visit(tx: sqlite3.Connection, visit: ArmedVisit) -> None:
    tx.execute(
        f"INSERT INTO rating_visits ({_VISIT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (day, ticket) DO UPDATE SET window = excluded.window, officer = excluded.officer, "
        "service = excluded.service, served_at = excluded.served_at, arming = excluded.arming",
        (visit.day, visit.ticket, visit.window, visit.officer, visit.service, visit.served_at,
         visit.arming, visit.outcome),
    )


def visit(tx: sqlite3.Connection, day: str, ticket: str) -> ArmedVisit | None:
    row = tx.execute(f"SELECT {_VISIT} FROM rating_visits WHERE day = ? AND ticket = ?",
                     (day, ticket)).fetchone()
    return ArmedVisit(*row) if row else None


def last_visit_before(tx: sqlite3.Connection, window: str, at: int, earliest: int) -> ArmedVisit | None:
    row = tx.execute(
        f"SELECT {_VISIT} FROM rating_visits WHERE window = ? AND served_at <= ? AND served_at >= ? "
        "ORDER BY served_at DESC LIMIT 1", (window, at, earliest)).fetchone()
    return ArmedVisit(*row) if row else None


def first_unrated_after(tx: sqlite3.Connection, window: str, after: int, latest: int) -> ArmedVisit | None:
    row = tx.execute(
        f"SELECT {_VISIT} FROM rating_visits WHERE window = ? AND served_at > ? AND served_at <= ? "
        "AND outcome IS NULL ORDER BY served_at LIMIT 1", (window, after, latest)).fetchone()
    return ArmedVisit(*row) if row else None


def set_outcome(tx: sqlite3.Connection, day: str, ticket: str, rating: str) -> None:
    tx.execute("UPDATE rating_visits SET outcome = ? WHERE day = ? AND ticket = ? AND outcome IS NULL",
               (rating, day, ticket))


# --- outcomes --------------------------------------------------------------------------


def add_outcome(tx: sqlite3.Connection, rating: str, terminal: str, counted: bool,
                day: str | None, ticket: str | None) -> bool:
    """False when this rating id was already reported (then nothing changes)."""
    cursor = tx.execute(
        "INSERT OR IGNORE INTO rating_outcomes (rating, terminal, counted, day, ticket) "
        "VALUES (?, ?, ?, ?, ?)",
        (rating, terminal, int(counted), day, ticket))
    return cursor.rowcount == 1


def outcome_counted(tx: sqlite3.Connection, rating: str, terminal: str) -> bool | None:
    row = tx.execute("SELECT counted FROM rating_outcomes WHERE rating = ? AND terminal = ?",
                     (rating, terminal)).fetchone()
    return None if row is None else bool(row[0])


# --- outcomes waiting for their visit ---------------------------------------------------


@dataclass(frozen=True)
class PendingOutcome:
    rating: str
    terminal: str
    window: str
    armed_at: int
    received_at: int
    type: str
    event_id: str
    body: str
    wait_until: int | None = None
    """Gateway clock: until when the outcome waits for its visit (`defer_s` after the later of
    its arming and its arrival, so a backlog after an outage still finds its visit)."""


_PENDING = "rating, terminal, window, armed_at, received_at, type, event_id, body, wait_until"
UPGRADES = {"wait_until": "ALTER TABLE rating_pending ADD COLUMN wait_until INTEGER"}
"""Columns added since the first release, added in place to an existing gateway store."""


def upgrade(tx: sqlite3.Connection) -> None:
    present = {row[1] for row in tx.execute("PRAGMA table_info(rating_pending)")}
    for column, statement in UPGRADES.items():
        if column not in present:
            tx.execute(statement)


def add_pending(tx: sqlite3.Connection, pending: PendingOutcome) -> None:
    tx.execute(f"INSERT OR IGNORE INTO rating_pending ({_PENDING}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (pending.rating, pending.terminal, pending.window, pending.armed_at, pending.received_at,
                pending.type, pending.event_id, pending.body, pending.wait_until))


def pending_at(tx: sqlite3.Connection, window: str, earliest: int, latest: int) -> PendingOutcome | None:
    row = tx.execute(f"SELECT {_PENDING} FROM rating_pending WHERE window = ? AND armed_at >= ? "
                     "AND armed_at <= ? ORDER BY armed_at LIMIT 1", (window, earliest, latest)).fetchone()
    return PendingOutcome(*row) if row else None


def pending_due(tx: sqlite3.Connection, now_ms: int, defer_ms: int) -> list[PendingOutcome]:
    """Outcomes whose wait for their visit is over (rows from before `wait_until`: armed + defer)."""
    rows = tx.execute(f"SELECT {_PENDING} FROM rating_pending WHERE coalesce(wait_until, armed_at + ?) < ? "
                      "ORDER BY armed_at", (defer_ms, now_ms)).fetchall()
    return [PendingOutcome(*row) for row in rows]


def drop_pending(tx: sqlite3.Connection, rating: str) -> None:
    tx.execute("DELETE FROM rating_pending WHERE rating = ?", (rating,))


def hold_reason(tx: sqlite3.Connection, rating: str, terminal: str, reason: str) -> bool:
    """Keep a reason with its pending outcome; False if the outcome is not pending."""
    cursor = tx.execute("UPDATE rating_pending SET reason = ? WHERE rating = ? AND terminal = ?",
                        (reason, rating, terminal))
    return cursor.rowcount == 1


def held_reason(tx: sqlite3.Connection, rating: str) -> str | None:
    row = tx.execute("SELECT reason FROM rating_pending WHERE rating = ?", (rating,)).fetchone()
    return row[0] if row else None


# --- terminals -------------------------------------------------------------------------


def registered_window(tx: sqlite3.Connection, device: str) -> str | None:
    """The window provisioning assigned to `device` (the gateway's registry), if any."""
    try:
        row = tx.execute("SELECT window FROM registry WHERE device = ?", (device,)).fetchone()
    except sqlite3.OperationalError:  # a gateway store without a registry (unit tests)
        return None
    return row[0] if row and row[0] else None


def registered_terminals(tx: sqlite3.Connection, window: str) -> list[str]:
    try:
        rows = tx.execute("SELECT device FROM registry WHERE window = ? AND kind = 'rating' "
                          "AND state != 'retired' ORDER BY device", (window,)).fetchall()
    except sqlite3.OperationalError:
        return []
    return [row[0] for row in rows]


# --- the cursor over the gateway's own queue facts ---------------------------------------


def cursor(tx: sqlite3.Connection) -> int:
    row = tx.execute("SELECT last_row FROM rating_cursor WHERE id = 1").fetchone()
    return row[0] if row else 0


def advance_cursor(tx: sqlite3.Connection, last_row: int) -> None:
    tx.execute("INSERT INTO rating_cursor (id, last_row) VALUES (1, ?) "
               "ON CONFLICT (id) DO UPDATE SET last_row = excluded.last_row", (last_row,))
