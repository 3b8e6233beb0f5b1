"""The queue's tables in the gateway's SQLite file, read and written inside the storing transaction.

The queue state commits together with the event that changed it, so a
gateway killed at any point restarts with a queue that matches its event log.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from contract.commands.queue import Booking
from contract.events.queue import WindowState
from gateway.queue.rules import BoardCounts, Visit, VisitState, Window

_BOOKING = tuple(Booking.model_fields)
"""A row of `queue_appointments` is the contract's Booking, column for column, and its day."""
_BOOKING_TYPES = {"code": "TEXT PRIMARY KEY", "service": "TEXT NOT NULL", "not_before": "INTEGER",
                  "not_after": "INTEGER"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS queue_visits (
    key INTEGER PRIMARY KEY,
    day TEXT NOT NULL,
    ticket TEXT NOT NULL,
    kiosk TEXT NOT NULL,
    number INTEGER NOT NULL,
    slot INTEGER NOT NULL,
    issued_service TEXT NOT NULL,
    service TEXT NOT NULL,
    state TEXT NOT NULL,
    priority INTEGER NOT NULL,
    appointment TEXT,
    booked_officer TEXT,
    booked_window TEXT,
    issued_at INTEGER NOT NULL,
    waiting_since INTEGER NOT NULL,
    window TEXT,
    officer TEXT,
    called_at INTEGER,
    first_called_at INTEGER,
    recalls INTEGER NOT NULL DEFAULT 0,
    active_ms INTEGER NOT NULL DEFAULT 0,
    UNIQUE (day, ticket, kiosk)
);
CREATE INDEX IF NOT EXISTS queue_visits_state ON queue_visits (day, state, service);
CREATE TABLE IF NOT EXISTS queue_windows (
    window TEXT PRIMARY KEY,
    officer TEXT,
    state TEXT NOT NULL,
    current INTEGER
);
CREATE TABLE IF NOT EXISTS queue_services (
    prefix TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    windows TEXT NOT NULL,
    priority INTEGER NOT NULL,
    daily_limit INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS queue_kiosks (
    device TEXT PRIMARY KEY,
    slot INTEGER NOT NULL,
    slots INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS queue_appointments (
    day TEXT NOT NULL,
""" + ",\n".join(f"    {name} {_BOOKING_TYPES.get(name, 'TEXT')}" for name in _BOOKING) + """
);
"""

_VISIT_COLUMNS = (
    "key, day, ticket, service, state, issued_at, waiting_since, priority, appointment, booked_officer, "
    "booked_window, window, officer, called_at, first_called_at, recalls, active_ms"
)


def _visit(row: Iterable[Any]) -> Visit:
    (key, day, ticket, service, state, issued_at, waiting_since, priority, appointment, booked_officer,
     booked_window, window, officer, called_at, first_called_at, recalls, active_ms) = row
    return Visit(
        key=key, day=day, ticket=ticket, service=service, state=VisitState(state), issued_at=issued_at,
        waiting_since=waiting_since, priority=bool(priority), appointment=appointment,
        booked_officer=booked_officer, booked_window=booked_window, window=window, officer=officer,
        called_at=called_at, first_called_at=first_called_at, recalls=recalls, active_ms=active_ms,
    )


# --- visits ---------------------------------------------------------------------------


def find_label(tx: sqlite3.Connection, day: str, ticket: str) -> list[tuple[int, str]]:
    """(key, kiosk) of visits already holding this label today."""
    return tx.execute(
        "SELECT key, kiosk FROM queue_visits WHERE day = ? AND ticket = ?", (day, ticket)
    ).fetchall()


def insert_visit(tx: sqlite3.Connection, *, kiosk: str, number: int, slot: int, visit: Visit) -> int | None:
    """A new waiting visit; None when this kiosk's ticket is already there (a replayed event)."""
    cursor = tx.execute(
        "INSERT OR IGNORE INTO queue_visits (day, ticket, kiosk, number, slot, issued_service, service, "
        "state, priority, appointment, booked_officer, booked_window, issued_at, waiting_since) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (visit.day, visit.ticket, kiosk, number, slot, visit.service, visit.service, visit.state,
         int(visit.priority),
         visit.appointment, visit.booked_officer, visit.booked_window, visit.issued_at, visit.waiting_since),
    )
    return cursor.lastrowid if cursor.rowcount == 1 else None


def void_visit(tx: sqlite3.Connection, day: str, ticket: str, kiosk: str) -> bool:
    cursor = tx.execute(
        "UPDATE queue_visits SET state = ? WHERE day = ? AND ticket = ? AND kiosk = ? AND state = ?",
        (VisitState.VOIDED, day, ticket, kiosk, VisitState.WAITING),
    )
    return cursor.rowcount == 1


def visit_state(tx: sqlite3.Connection, day: str, ticket: str, kiosk: str) -> str | None:
    """The state of the visit a kiosk's number became, or None for a number the hall never saw."""
    row = tx.execute("SELECT state FROM queue_visits WHERE day = ? AND ticket = ? AND kiosk = ?",
                     (day, ticket, kiosk)).fetchone()
    return str(row[0]) if row else None


def load_visit(tx: sqlite3.Connection, key: int | None) -> Visit | None:
    if key is None:
        return None
    row = tx.execute(f"SELECT {_VISIT_COLUMNS} FROM queue_visits WHERE key = ?", (key,)).fetchone()
    return _visit(row) if row else None


def save_visit(tx: sqlite3.Connection, visit: Visit) -> None:
    tx.execute(
        "UPDATE queue_visits SET service = ?, state = ?, waiting_since = ?, window = ?, officer = ?, "
        "called_at = ?, first_called_at = ?, recalls = ?, active_ms = ? WHERE key = ?",
        (visit.service, visit.state, visit.waiting_since, visit.window, visit.officer, visit.called_at,
         visit.first_called_at, visit.recalls, visit.active_ms, visit.key),
    )


def waiting(tx: sqlite3.Connection, day: str, services: Iterable[str]) -> list[Visit]:
    wanted = sorted(services)
    if not wanted:
        return []
    marks = ",".join("?" * len(wanted))
    rows = tx.execute(
        f"SELECT {_VISIT_COLUMNS} FROM queue_visits WHERE day = ? AND state = ? AND service IN ({marks})",
        (day, VisitState.WAITING, *wanted),
    ).fetchall()
    return [_visit(row) for row in rows]


def parked_at(tx: sqlite3.Connection, day: str, window: str) -> list[Visit]:
    rows = tx.execute(
        f"SELECT {_VISIT_COLUMNS} FROM queue_visits WHERE day = ? AND state = ? AND window = ?",
        (day, VisitState.PARKED, window),
    ).fetchall()
    return [_visit(row) for row in rows]


def visit_at_window(tx: sqlite3.Connection, day: str, ticket: str, window: str) -> Visit | None:
    row = tx.execute(
        f"SELECT {_VISIT_COLUMNS} FROM queue_visits WHERE day = ? AND ticket = ? AND window = ? "
        "ORDER BY called_at DESC LIMIT 1", (day, ticket, window),
    ).fetchone()
    return _visit(row) if row else None


# --- windows and services ------------------------------------------------------------


def load_window(tx: sqlite3.Connection, window_id: str) -> Window:
    row = tx.execute("SELECT officer, state, current FROM queue_windows WHERE window = ?",
                     (window_id,)).fetchone()
    services = window_services(tx, window_id)
    if row is None:
        return Window(window_id, services)
    officer, state, current = row
    return Window(window_id, services, officer, WindowState(state), current)


def save_window(tx: sqlite3.Connection, window: Window) -> None:
    tx.execute(
        "INSERT INTO queue_windows (window, officer, state, current) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (window) DO UPDATE SET officer = excluded.officer, state = excluded.state, "
        "current = excluded.current",
        (window.id, window.officer, window.state, window.current),
    )


def officers_elsewhere(tx: sqlite3.Connection, window_id: str) -> frozenset[str]:
    rows = tx.execute(
        "SELECT officer FROM queue_windows WHERE window != ? AND officer IS NOT NULL AND state != ?",
        (window_id, WindowState.CLOSED),
    ).fetchall()
    return frozenset(row[0] for row in rows)


def window_services(tx: sqlite3.Connection, window_id: str) -> frozenset[str]:
    """Services listing this window; a service listing no window is served by every window."""
    served = set()
    for prefix, windows in tx.execute("SELECT prefix, windows FROM queue_services"):
        listed = json.loads(windows)
        if not listed or window_id in listed:
            served.add(prefix)
    return frozenset(served)


def known_services(tx: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    return {
        prefix: {"name": name, "windows": json.loads(windows), "priority": bool(priority),
                 "daily_limit": daily_limit}
        for prefix, name, windows, priority, daily_limit in tx.execute(
            "SELECT prefix, name, windows, priority, daily_limit FROM queue_services")
    }


def upsert_services(tx: sqlite3.Connection, services: list[dict[str, Any]]) -> list[str]:
    """Learn a kiosk's service table; returns the prefixes whose definition changed."""
    known = known_services(tx)
    changed = []
    for service in services:
        before = known.get(service["prefix"])
        after = {k: service[k] for k in ("name", "windows", "priority", "daily_limit")}
        if before is not None and before != after:
            changed.append(service["prefix"])
        tx.execute(
            "INSERT INTO queue_services (prefix, name, windows, priority, daily_limit) "
            "VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (prefix) DO UPDATE SET name = excluded.name, windows = excluded.windows, "
            "priority = excluded.priority, daily_limit = excluded.daily_limit",
            (service["prefix"], service["name"], json.dumps(service["windows"], ensure_ascii=False),
             int(service["priority"]), service["daily_limit"]),
        )
    return changed


# --- kiosks ------------------------------------------------------------------------------


def register_kiosk(tx: sqlite3.Connection, device: str, slot: int, slots: int) -> list[str]:
    """Remember a kiosk's slot; returns other kiosks claiming the same slot."""
    tx.execute(
        "INSERT INTO queue_kiosks (device, slot, slots) VALUES (?, ?, ?) "
        "ON CONFLICT (device) DO UPDATE SET slot = excluded.slot, slots = excluded.slots",
        (device, slot, slots),
    )
    return [row[0] for row in tx.execute(
        "SELECT device FROM queue_kiosks WHERE slot = ? AND device != ?", (slot, device))]


def kiosks(tx: sqlite3.Connection) -> list[str]:
    """The hall's kiosks, as they announced themselves."""
    return [row[0] for row in tx.execute("SELECT device FROM queue_kiosks ORDER BY device")]


# --- appointments --------------------------------------------------------------------------


def replace_appointments(tx: sqlite3.Connection, day: str, bookings: Sequence[Booking]) -> None:
    """Central's list for `day` replaces the one held; a code already redeemed stays redeemed."""
    redeemed = dict(tx.execute(
        "SELECT code, redeemed_ticket FROM queue_appointments WHERE day = ? AND redeemed_ticket IS NOT NULL",
        (day,),
    ).fetchall())
    tx.execute("DELETE FROM queue_appointments WHERE day = ?", (day,))
    marks = ", ".join("?" * (len(_BOOKING) + 1))
    for booking in bookings:
        row = booking.model_dump() | {"redeemed_ticket": redeemed.get(booking.code)}
        tx.execute(f"INSERT OR REPLACE INTO queue_appointments (day, {', '.join(_BOOKING)}) VALUES ({marks})",
                   (day, *(row[name] for name in _BOOKING)))


def redeem_appointment(tx: sqlite3.Connection, code: str, ticket: str) -> str | None:
    """Mark a code used; returns the ticket it was already used for, if any."""
    row = tx.execute("SELECT redeemed_ticket FROM queue_appointments WHERE code = ?", (code,)).fetchone()
    if row is not None and row[0] is not None and row[0] != ticket:
        return str(row[0])
    tx.execute("UPDATE queue_appointments SET redeemed_ticket = ? WHERE code = ?", (ticket, code))
    return None


def appointments(tx: sqlite3.Connection, day: str) -> list[Booking]:
    rows = tx.execute(f"SELECT {', '.join(_BOOKING)} FROM queue_appointments WHERE day = ? ORDER BY code",
                      (day,))
    return [Booking.model_validate(dict(zip(_BOOKING, row, strict=True))) for row in rows]


# --- the board ---------------------------------------------------------------------------------

ISSUED_SQL = (
    "SELECT issued_service, slot, sum(state != 'voided'), max(number) "
    "FROM queue_visits WHERE day = ? GROUP BY issued_service, slot"
)
WAITING_SQL = (
    "SELECT service, priority OR appointment IS NOT NULL, count(*) "
    "FROM queue_visits WHERE day = ? AND state = 'waiting' GROUP BY service, 2"
)
SERVING_SQL = (
    "SELECT w.window, w.officer, w.state, v.ticket, v.service FROM queue_windows w "
    "LEFT JOIN queue_visits v ON v.key = w.current ORDER BY w.window"
)


def board_counts(issued_rows: list[Any], waiting_rows: list[Any]) -> dict[str, BoardCounts]:
    """Per-service counts from ISSUED_SQL and WAITING_SQL rows. High marks count every number
    issued, void ones too, so a kiosk that lost its memory never reissues one."""
    counts: dict[str, BoardCounts] = {}
    for service, slot, issued, high in issued_rows:
        line = counts.setdefault(service, BoardCounts())
        line.high[slot] = high
        line.issued += issued
    for service, priority, count in waiting_rows:
        line = counts.setdefault(service, BoardCounts())
        line.waiting += count
        if priority:
            line.waiting_priority += count
    return counts
