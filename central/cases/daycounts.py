"""Cases received and completed per day, hall and unit, kept by the database as cases change.

A province's month holds about a million cases: counting them one by one for the month x unit
statistics took seconds on either database (an index range of a million rows, then a group).
`case_day_counts` keeps those counts as the cases table changes, by triggers in the database, so
no writer of `cases` has to remember it and a row written by any process (a tick, an import,
`move-cases`) is counted: `received` on the Shanghai day of `accepted_at`; `completed` and
`on_time` on the day of `completed_at` once the completion is confirmed, as the statistics count
them (`central.cases.stats`). A row changing what is counted (a correction moving a date or a
unit) moves its count: the old row's figures out, the new row's in. A lights-only update (every
tick's) fires nothing. On PostgreSQL the counts' rows are written by transactions that already
hold the case log's lock (`central.cases.database`), so writers never wait on one another for
them and cannot deadlock.

On SQLite the store makes the table and row triggers as it opens (`ensure_counts`), counting
the cases already there the first time; on PostgreSQL migration 0012 does the same, and 0015
makes the triggers per statement (transition tables): a statement's moves are added up and
written in one grouped upsert, so a bulk load (COPY, `move-cases`, an import) pays once per
statement, not three upserts a case (COPY of 100,000 cases 17.4 s -> 1.4 s; an INSERT of
one case 159 -> 77 us).
"""

from __future__ import annotations

import sqlite3

SHANGHAI_DAY = "(({t} + 28800) / 86400)"
"""The Shanghai day of an instant, as `central.cases.timebase.day_of` (instants after 1970)."""

COUNTED = ("accepted_at", "completed_at", "confirmed_at", "on_time", "hall", "unit")
"""The columns the counts depend on: an update changing none of them changes no count."""

TABLE = """
CREATE TABLE IF NOT EXISTS case_day_counts (
    measure TEXT NOT NULL,
    day INTEGER NOT NULL,
    hall TEXT NOT NULL,
    unit TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (measure, day, hall, unit)
)"""


def backfill() -> str:
    """Count the cases already stored (the same text on both databases)."""
    day = SHANGHAI_DAY
    return (
        "INSERT INTO case_day_counts (measure, day, hall, unit, n)"
        f" SELECT 'received', {day.format(t='accepted_at')}, hall, unit, count(*) FROM cases"
        " GROUP BY 2, 3, 4"
        f" UNION ALL SELECT 'completed', {day.format(t='completed_at')}, hall, unit, count(*)"
        " FROM cases WHERE confirmed_at IS NOT NULL AND completed_at IS NOT NULL GROUP BY 2, 3, 4"
        f" UNION ALL SELECT 'on_time', {day.format(t='completed_at')}, hall, unit, count(*)"
        " FROM cases WHERE confirmed_at IS NOT NULL AND completed_at IS NOT NULL AND on_time = 1"
        " GROUP BY 2, 3, 4")


def _sqlite_moves(row: str, sign: str) -> str:
    """The upserts adding `sign` 1 for each measure `row` (OLD or NEW) counts in."""
    day = SHANGHAI_DAY
    completed = f"{row}.confirmed_at IS NOT NULL AND {row}.completed_at IS NOT NULL"
    return "".join(
        f"INSERT INTO case_day_counts (measure, day, hall, unit, n)"
        f" SELECT '{measure}', {day.format(t=f'{row}.{column}')}, {row}.hall, {row}.unit, {sign}1"
        f" WHERE {condition}"
        " ON CONFLICT (measure, day, hall, unit) DO UPDATE SET n = n + excluded.n;\n"
        for measure, column, condition in (
            ("received", "accepted_at", "1 = 1"),
            ("completed", "completed_at", completed),
            ("on_time", "completed_at", f"{completed} AND {row}.on_time = 1")))


SQLITE_TRIGGERS = f"""
CREATE TRIGGER IF NOT EXISTS cases_counted_insert AFTER INSERT ON cases BEGIN
{_sqlite_moves('NEW', '')}END;
CREATE TRIGGER IF NOT EXISTS cases_counted_delete AFTER DELETE ON cases BEGIN
{_sqlite_moves('OLD', '-')}END;
CREATE TRIGGER IF NOT EXISTS cases_counted_update AFTER UPDATE ON cases
WHEN {' OR '.join(f'OLD.{c} IS NOT NEW.{c}' for c in COUNTED)} BEGIN
{_sqlite_moves('OLD', '-')}{_sqlite_moves('NEW', '')}END;
"""

def ensure_counts(connection: sqlite3.Connection) -> None:
    """Make the counts table and its triggers in a SQLite case store (an autocommit connection,
    `spine.sqlite.open_database`), counting what is there the first time: the check and the
    count in one write transaction, so two processes opening a store at once count it once."""
    own = not connection.in_transaction  # else the caller's transaction holds the file
    if own:
        connection.execute("BEGIN IMMEDIATE")
    try:
        have = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                                  " AND name = 'case_day_counts'").fetchone()
        if not have:
            connection.execute(f"{TABLE} WITHOUT ROWID")
            connection.execute(backfill())
        for trigger in SQLITE_TRIGGERS.split("END;")[:-1]:
            connection.execute(trigger + "END;")
    except BaseException:
        if own:
            connection.execute("ROLLBACK")
        raise
    if own:
        connection.execute("COMMIT")
