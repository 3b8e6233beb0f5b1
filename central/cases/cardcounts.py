"""Cards and letters issued per kind, day, hall and unit, kept by the database as cases and
issued rows change, for the statistics' cards and false alarms.

A month's statistics counted its cards by joining every issued row of the month to its case
(for the case's unit and its dates as corrected, which the false alarms are judged on): a
province's month is tens of thousands of cards, each fetched by key among millions of cases,
most of a second. `case_card_counts` keeps, per kind, Shanghai day of `due_at`, hall and unit
of the case as it stands, the escalations issued (`escalation = 1`) and how many of them the
case's record as corrected disowns *for good*: it no longer reaches the card's stage (its
instant is NULL), or was completed before it. Those two depend only on the rows, so triggers
keep them, moving an issued row's contribution out and in as the row or its case changes
(hall, unit, the stage instants, `completed_at`): no writer remembers it, whichever process
writes (a tick, an import, a correction, `move-cases`).

The statistics also disown a card whose stage instant, as corrected, is still ahead of `now`
(`central.cases.stats._DISOWNED` at `:judged`). That depends on `now`, so it is read, not
counted, from two short ranges: the issued rows whose case's stage instant is later than the
card's own `due_at` (a correction pushed the stage past the card, the article's classic false
alarm), which the triggers keep in `case_cards_pushed` (a few rows, not one per card), and the
issued rows due after `now` (none, normally: a tick issues what is due), read by `due_at`.
Any other card's stage instant is at most its `due_at`, so at most `now`: not disowned by it.

On PostgreSQL the counts' rows are written by transactions that already hold the case log's
lock (`central.cases.database`), so no two writers wait on each other for them. On SQLite the
store makes the tables and row triggers as it opens (`ensure_card_counts`), counting the cards
already there the first time; on PostgreSQL revision 0014 does the same with triggers once per
statement (transition tables), since a tick writes a batch's issued rows and lights with one
statement each (`central.cases.bulk`).
"""

from __future__ import annotations

import sqlite3

from central.cases.daycounts import SHANGHAI_DAY

KINDS = ("yellow_card", "red_card", "supervision_letter")
"""The kinds counted in the statistics and on the screen (other escalations are counted too,
so that a group holding only those still shows, as counting the rows shows it)."""

CHANGED = ("hall", "unit", "yellow_card_at", "red_card_at", "supervision_letter_at", "completed_at")
"""The columns of `cases` the cards' counts depend on: an update changing none of them (a
tick's lights) moves nothing."""


def stage_at(issued: str, case: str) -> str:
    """The instant the case's record as it stands gives the issued row's kind (NULL: never)."""
    return (f"(CASE {issued}.kind WHEN 'yellow_card' THEN {case}.yellow_card_at"
            f" WHEN 'red_card' THEN {case}.red_card_at"
            f" WHEN 'supervision_letter' THEN {case}.supervision_letter_at END)")


def for_good(issued: str, case: str) -> str:
    """Disowned whatever `now` is: the stage is never reached, or the case was completed first."""
    stage = stage_at(issued, case)
    return (f"({stage} IS NULL OR ({case}.completed_at IS NOT NULL"
            f" AND {case}.completed_at < {stage}))")


def pushed(issued: str, case: str) -> str:
    """Disowned only until the stage instant, which a correction pushed past the card's due_at."""
    stage = stage_at(issued, case)
    return (f"({stage} IS NOT NULL AND ({case}.completed_at IS NULL OR {case}.completed_at >= {stage})"
            f" AND {stage} > {issued}.due_at)")


TABLES = """
CREATE TABLE IF NOT EXISTS case_card_counts (
    kind TEXT NOT NULL,
    day INTEGER NOT NULL,
    hall TEXT NOT NULL,
    unit TEXT NOT NULL,
    issued INTEGER NOT NULL,
    disowned INTEGER NOT NULL,
    PRIMARY KEY (day, hall, unit, kind)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS case_cards_pushed (
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    PRIMARY KEY (case_id, kind)
) WITHOUT ROWID;
"""

_ADD = ("ON CONFLICT (day, hall, unit, kind) DO UPDATE SET issued = case_card_counts.issued"
        " + excluded.issued, disowned = case_card_counts.disowned + excluded.disowned")


def _contribution(issued: str, case: str, sign: str) -> str:
    """The counts' columns for issued rows joined to their cases, with `sign` ('' or '-')."""
    return (f"{issued}.kind, {SHANGHAI_DAY.format(t=f'{issued}.due_at')}, {case}.hall, {case}.unit,"
            f" {sign}count(*), {sign}sum(CASE WHEN {for_good(issued, case)} THEN 1 ELSE 0 END)")


def backfill() -> tuple[str, str]:
    """Count the cards already stored (the same texts on both databases)."""
    return (f"INSERT INTO case_card_counts (kind, day, hall, unit, issued, disowned)"
            f" SELECT {_contribution('i', 'c', '')} FROM case_issued i JOIN cases c"
            " ON c.case_id = i.case_id WHERE i.escalation = 1 GROUP BY 1, 2, 3, 4",
            "INSERT INTO case_cards_pushed (case_id, kind, due_at) SELECT i.case_id, i.kind, i.due_at"
            f" FROM case_issued i JOIN cases c ON c.case_id = i.case_id"
            f" WHERE i.escalation = 1 AND {pushed('i', 'c')}")


def _sqlite_moves(issued: str, case: str, sign: str, where: str) -> str:
    """Statements moving the contribution of the issued rows and cases `where` selects (`issued`
    and `case` name them: NEW, OLD or a table's alias) in (sign '') or out (sign '-')."""
    counts = (f"INSERT INTO case_card_counts (kind, day, hall, unit, issued, disowned)"
              f" SELECT {_contribution(issued, case, sign)} {where} GROUP BY 1, 2, 3, 4 {_ADD};\n")
    if sign:
        return counts + (f"DELETE FROM case_cards_pushed WHERE (case_id, kind) IN"
                         f" (SELECT {issued}.case_id, {issued}.kind {where});\n")
    return counts + (f"INSERT INTO case_cards_pushed (case_id, kind, due_at) SELECT"
                     f" {issued}.case_id, {issued}.kind, {issued}.due_at {where}"
                     f" AND {pushed(issued, case)};\n")


def _issued_row(row: str) -> str:
    return f"FROM cases c WHERE c.case_id = {row}.case_id AND {row}.escalation = 1"


def _case_row(row: str) -> str:
    return f"FROM case_issued i WHERE i.case_id = {row}.case_id AND i.escalation = 1"


_CHANGED = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in CHANGED)
# The update trigger fires only for a case holding issued rows (a reminder's too: one lookup):
# a case's first judgement writes its stage instants, most cases have no card to move.

SQLITE_TRIGGERS = f"""
CREATE TRIGGER IF NOT EXISTS case_issued_carded_insert AFTER INSERT ON case_issued
WHEN NEW.escalation = 1 BEGIN
{_sqlite_moves('NEW', 'c', '', _issued_row('NEW'))}END;
CREATE TRIGGER IF NOT EXISTS case_issued_carded_delete AFTER DELETE ON case_issued BEGIN
{_sqlite_moves('OLD', 'c', '-', _issued_row('OLD'))}END;
CREATE TRIGGER IF NOT EXISTS case_issued_carded_update AFTER UPDATE ON case_issued BEGIN
{_sqlite_moves('OLD', 'c', '-', _issued_row('OLD'))}{_sqlite_moves('NEW', 'c', '', _issued_row('NEW'))}END;
CREATE TRIGGER IF NOT EXISTS cases_carded_insert AFTER INSERT ON cases BEGIN
{_sqlite_moves('i', 'NEW', '', _case_row('NEW'))}END;
CREATE TRIGGER IF NOT EXISTS cases_carded_delete AFTER DELETE ON cases BEGIN
{_sqlite_moves('i', 'OLD', '-', _case_row('OLD'))}END;
CREATE TRIGGER IF NOT EXISTS cases_carded_update AFTER UPDATE ON cases
WHEN ({_CHANGED}) AND EXISTS (SELECT 1 FROM case_issued WHERE case_id = NEW.case_id) BEGIN
{_sqlite_moves('i', 'OLD', '-', _case_row('OLD'))}{_sqlite_moves('i', 'NEW', '', _case_row('NEW'))}END;
"""

TRIGGER_NAMES = ("case_issued_carded_insert", "case_issued_carded_delete", "case_issued_carded_update",
                 "cases_carded_insert", "cases_carded_delete", "cases_carded_update")


def ensure_card_counts(connection: sqlite3.Connection) -> None:
    """Make the cards' tables and triggers in a SQLite case store (an autocommit connection),
    counting the cards there the first time: the check and the count in one write transaction,
    so two processes opening a store at once count it once."""
    own = not connection.in_transaction  # else the caller's transaction holds the file
    if own:
        connection.execute("BEGIN IMMEDIATE")
    try:
        have = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                                  " AND name = 'case_card_counts'").fetchone()
        if not have:
            for table in TABLES.split(";")[:-1]:
                connection.execute(table)
            for statement in backfill():
                connection.execute(statement)
        for trigger in SQLITE_TRIGGERS.split("END;")[:-1]:
            connection.execute(trigger + "END;")
    except BaseException:
        if own:
            connection.execute("ROLLBACK")
        raise
    if own:
        connection.execute("COMMIT")
