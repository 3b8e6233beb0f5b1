"""Devices the gateway stopped listening to after repeated refusals, until a technician releases them.

A quarantined device may still connect (its presence is still shown), but every
batch it sends is refused and kept as a dead letter. `hall gateway release
DEVICE` (run on the gateway, by a technician) ends it; the running gateway
notices (SQLite's `data_version`) and records `security.released` for central.
Rows are kept after release, so the gateway's file tells every quarantine.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

SCHEMA = """
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    since INTEGER NOT NULL,
    reason TEXT NOT NULL,
    released_at INTEGER,
    released_by TEXT,
    release_reason TEXT,
    reported INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS quarantine_current ON quarantine (device) WHERE released_at IS NULL;
"""


@dataclass(frozen=True)
class Quarantine:
    device: str
    since: int
    reason: str


@dataclass(frozen=True)
class Release:
    id: int
    device: str
    since: int
    by: str
    reason: str


def current(conn: sqlite3.Connection) -> dict[str, Quarantine]:
    rows = conn.execute("SELECT device, since, reason FROM quarantine WHERE released_at IS NULL").fetchall()
    return {device: Quarantine(device, since, reason) for device, since, reason in rows}


def begin(tx: sqlite3.Connection, device: str, reason: str, now_ms: int) -> bool:
    """Quarantine `device`; False when it already is."""
    cursor = tx.execute("INSERT OR IGNORE INTO quarantine (device, since, reason) VALUES (?, ?, ?)",
                        (device, now_ms, reason))
    return cursor.rowcount == 1


def release(tx: sqlite3.Connection, device: str, by: str, reason: str, now_ms: int) -> bool:
    """End `device`'s quarantine (the technician's command); False when it was not quarantined."""
    cursor = tx.execute(
        "UPDATE quarantine SET released_at = ?, released_by = ?, release_reason = ? "
        "WHERE device = ? AND released_at IS NULL", (now_ms, by, reason, device))
    return cursor.rowcount == 1


def last_release(tx: sqlite3.Connection, device: str) -> int:
    """When `device` was last released (ms), 0 if never."""
    (at,) = tx.execute("SELECT coalesce(max(released_at), 0) FROM quarantine WHERE device = ?",
                       (device,)).fetchone()
    return int(at)


def unreported_releases(tx: sqlite3.Connection) -> list[Release]:
    rows = tx.execute(
        "SELECT id, device, since, released_by, coalesce(release_reason, '') FROM quarantine "
        "WHERE released_at IS NOT NULL AND reported = 0 ORDER BY id").fetchall()
    return [Release(*row) for row in rows]


def mark_reported(tx: sqlite3.Connection, release_id: int) -> None:
    tx.execute("UPDATE quarantine SET reported = 1 WHERE id = ?", (release_id,))
