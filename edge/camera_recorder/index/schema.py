"""What the index file holds, all tables in one place, and the upgrade from older files.

The tables are read and written by the index's parts (one module per table),
but the schema stays whole here: the triggers tie segments to cameras, and
`unreported` points into gaps, holds and exports.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = "2"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cameras (
    id TEXT PRIMARY KEY,
    runs INTEGER NOT NULL DEFAULT 0,
    restarts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'unknown',
    state_since INTEGER,
    detail TEXT,
    bytes INTEGER NOT NULL DEFAULT 0,
    segments INTEGER NOT NULL DEFAULT 0,
    held_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    camera TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    path TEXT NOT NULL UNIQUE,
    bytes INTEGER NOT NULL,
    run INTEGER NOT NULL,
    held INTEGER NOT NULL DEFAULT 0,
    partial INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS segments_by_camera ON segments (camera, start_ms);
CREATE INDEX IF NOT EXISTS segments_unheld ON segments (start_ms) WHERE held = 0;
CREATE INDEX IF NOT EXISTS segments_unheld_by_camera ON segments (camera, start_ms)
    WHERE held = 0;
CREATE TRIGGER IF NOT EXISTS segments_added AFTER INSERT ON segments BEGIN
    INSERT INTO cameras (id) VALUES (NEW.camera) ON CONFLICT DO NOTHING;
    UPDATE cameras SET bytes = bytes + NEW.bytes, segments = segments + 1,
        held_bytes = held_bytes + NEW.held * NEW.bytes WHERE id = NEW.camera;
END;
CREATE TRIGGER IF NOT EXISTS segments_removed AFTER DELETE ON segments BEGIN
    UPDATE cameras SET bytes = bytes - OLD.bytes, segments = segments - 1,
        held_bytes = held_bytes - OLD.held * OLD.bytes WHERE id = OLD.camera;
END;
CREATE TRIGGER IF NOT EXISTS segments_changed AFTER UPDATE OF held, bytes ON segments BEGIN
    UPDATE cameras SET bytes = bytes - OLD.bytes + NEW.bytes,
        held_bytes = held_bytes - OLD.held * OLD.bytes + NEW.held * NEW.bytes
        WHERE id = NEW.camera;
END;
CREATE TABLE IF NOT EXISTS pending_unlink (path TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS gaps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    camera TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER,
    cause TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS gaps_by_camera ON gaps (camera, start_ms);
CREATE INDEX IF NOT EXISTS gaps_open ON gaps (camera) WHERE end_ms IS NULL;
CREATE TABLE IF NOT EXISTS holds (
    id TEXT PRIMARY KEY,
    camera TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    until_ms INTEGER NOT NULL,
    who TEXT NOT NULL,
    why TEXT NOT NULL,
    placed_ms INTEGER NOT NULL,
    source TEXT NOT NULL,
    released_ms INTEGER,
    released_by TEXT,
    release_why TEXT
);
CREATE INDEX IF NOT EXISTS holds_active ON holds (camera) WHERE released_ms IS NULL;
CREATE TABLE IF NOT EXISTS exports (
    id TEXT PRIMARY KEY,
    camera TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    who TEXT NOT NULL,
    why TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    clip_path TEXT NOT NULL,
    clip_bytes INTEGER NOT NULL,
    clip_sha256 TEXT NOT NULL,
    manifest TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL
);
-- Rows central has not heard about yet (gaps, holds, exports). `key` has no
-- type so a gap's integer id stays an integer and joins on the primary key;
-- `version` grows with each change, so a change made while a report was on
-- its way is reported again.
CREATE TABLE IF NOT EXISTS unreported (
    kind TEXT NOT NULL,
    key NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alarms (
    code TEXT PRIMARY KEY,
    raised_ms INTEGER NOT NULL,
    message TEXT NOT NULL
);
"""

# Version 1 kept "reported" flags on three tables, each with its own rule; a
# recorder upgraded with reports still owed must still send them.
_FROM_VERSION_1 = """
INSERT INTO unreported (kind, key)
    SELECT 'gap', id FROM gaps WHERE reported = 0 AND end_ms IS NOT NULL;
INSERT INTO unreported (kind, key)
    SELECT 'hold', id FROM holds WHERE reported_state IS NULL
        OR (released_ms IS NOT NULL AND reported_state = 'active');
INSERT INTO unreported (kind, key)
    SELECT 'export', id FROM exports WHERE reported = 0;
DROP INDEX IF EXISTS gaps_unreported;
ALTER TABLE gaps DROP COLUMN reported;
ALTER TABLE holds DROP COLUMN reported_state;
ALTER TABLE exports DROP COLUMN reported;
"""


def needs_upgrade(connection: sqlite3.Connection) -> bool:
    row = connection.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    return row is not None and row[0] == "1"


def upgrade(connection: sqlite3.Connection) -> None:
    """Bring an older index file to this version; call inside a transaction.

    Asks again inside it: another process (the CLI) may have upgraded the file meanwhile.
    """
    if not needs_upgrade(connection):
        return
    for statement in _FROM_VERSION_1.split(";"):
        if statement.strip():
            connection.execute(statement)
    connection.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))
