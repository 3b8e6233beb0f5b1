"""Open cases per light and place (stage, hall, unit), kept by the database as cases change.

The big screen counts the open cases by light, hall and unit at every refresh of every board.
Counted from the partial index of open cases (`cases_open_places`) that read a province's
million open cases in about 0.4 s on either database, every time. `case_open_counts` keeps those
counts as `cases` changes, by triggers in the database, so no writer of `cases` (a tick, an
import, a correction, `move-cases`, any process) has to remember it: a case is counted while
`confirmed_at IS NULL`, under its row's (stage, hall, unit), exactly what the index holds. A row
leaving that place (a light turning, a correction moving its hall or unit, a confirmation, a
voided confirmation, a delete) moves its count; an update changing none of those four columns
moves nothing. A count that went down to nothing stays a row with n = 0, which the screen's read
skips (`SqlTally.open_places`), as the day counts' read skips theirs (`central.cases.daycounts`).

SQLite: row triggers (a few microseconds in process), made as the store opens (`ensure_open_counts`),
counting the cases already there the first time. PostgreSQL: revision 0013 makes the table,
counts what is there, and statement-level triggers with transition tables: the tick writes a
batch's lights with one `UPDATE ... FROM json_to_recordset` (`central.cases.bulk`), so the
trigger runs once a batch, one grouped upsert of the batch's net moves (a light turning inside
the same place, or a case leaving a place another enters, nets out), where a row trigger would
cost about 100 us a case. On PostgreSQL every writer of `cases` holds the case log's advisory
lock (`central.cases.database`), so two transactions never write the counters at once and cannot
deadlock on them; the upsert also writes its keys in one order, should a writer ever come without
that lock.
"""

from __future__ import annotations

import sqlite3

COUNTED = ("stage", "hall", "unit", "confirmed_at")
"""The columns the counts depend on: an update changing none of them changes no count."""

TABLE = """
CREATE TABLE IF NOT EXISTS case_open_counts (
    stage TEXT NOT NULL,
    hall TEXT NOT NULL,
    unit TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (stage, hall, unit)
)"""

BACKFILL = ("INSERT INTO case_open_counts (stage, hall, unit, n)"
            " SELECT stage, hall, unit, count(*) FROM cases WHERE confirmed_at IS NULL"
            " GROUP BY stage, hall, unit")
"""Count the open cases already stored (the same text on both databases)."""

SQLITE_TRIGGER_NAMES = ("cases_open_counted_insert", "cases_open_counted_delete",
                        "cases_open_counted_update")


def _sqlite_move(row: str, sign: str) -> str:
    return ("INSERT INTO case_open_counts (stage, hall, unit, n)"
            f" SELECT {row}.stage, {row}.hall, {row}.unit, {sign}1 WHERE {row}.confirmed_at IS NULL"
            " ON CONFLICT (stage, hall, unit) DO UPDATE SET n = n + excluded.n;\n")


SQLITE_TRIGGERS = (
    f"CREATE TRIGGER IF NOT EXISTS cases_open_counted_insert AFTER INSERT ON cases BEGIN\n"
    f"{_sqlite_move('NEW', '')}END;",
    f"CREATE TRIGGER IF NOT EXISTS cases_open_counted_delete AFTER DELETE ON cases BEGIN\n"
    f"{_sqlite_move('OLD', '-')}END;",
    f"CREATE TRIGGER IF NOT EXISTS cases_open_counted_update AFTER UPDATE ON cases\n"
    f"WHEN {' OR '.join(f'OLD.{c} IS NOT NEW.{c}' for c in COUNTED)} BEGIN\n"
    f"{_sqlite_move('OLD', '-')}{_sqlite_move('NEW', '')}END;",
)


def ensure_open_counts(connection: sqlite3.Connection) -> None:
    """Make the open counts and their triggers in a SQLite case store (an autocommit connection,
    `spine.sqlite.open_database`), counting what is there the first time: the check and the
    count in one write transaction, so two processes opening a store at once count it once."""
    own = not connection.in_transaction  # else the caller's transaction holds the file
    if own:
        connection.execute("BEGIN IMMEDIATE")
    try:
        have = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                                  " AND name = 'case_open_counts'").fetchone()
        if not have:
            connection.execute(f"{TABLE} WITHOUT ROWID")
            connection.execute(BACKFILL)
        for trigger in SQLITE_TRIGGERS:
            connection.execute(trigger)
    except BaseException:
        if own:
            connection.execute("ROLLBACK")
        raise
    if own:
        connection.execute("COMMIT")
