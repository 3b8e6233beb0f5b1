"""The article's figures: received, completed, yellow cards, red cards, letters, on-time rate.

Grouped by hall, unit, window, matter, officer, or by period (day, month, year)
of the figure's own instant: a case counts as received when accepted, as
completed when done (and confirmed), a card when it fell due. The one query of
these figures: the CLI (`hall central stats`), the API (`/api/statistics`) and
the performance ranking all read it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pydantic import BaseModel, ConfigDict

from central.cases.timebase import Instant
from central.where import Where

DIMENSIONS = ("hall", "unit", "matter", "officer")
WINDOW = "c.hall || '/' || json_extract(c.file, '$.window')"
"""A window is `hall/window`: window names repeat from hall to hall (ratings name them so too)."""
PERIODS = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}


class Figures(BaseModel):
    """One row of statistics."""

    model_config = ConfigDict(frozen=True)

    group: str | None
    received: int = 0
    completed: int = 0
    on_time: int = 0
    on_time_rate: float | None = None
    yellow_cards: int = 0
    red_cards: int = 0
    supervision_letters: int = 0
    false_yellow_cards: int = 0
    """Of the cards and letters above, those the case's record as corrected no longer reaches:
    issued before a correction moved its dates (the article's classic false alarm). What was
    issued stays issued and counted; these say how much of it a correction has since disowned."""
    false_red_cards: int = 0
    false_supervision_letters: int = 0

    def as_row(self) -> dict[str, Any]:
        """The figures as every way out shows them (API `StatisticsRow`, `stats --json`)."""
        return {"key": self.group, "received": self.received, "completed": self.completed,
                "on_time": self.on_time, "on_time_rate": self.on_time_rate,
                "yellow_cards": self.yellow_cards, "red_cards": self.red_cards,
                "letters": self.supervision_letters,
                "false_alarms": {"yellow_cards": self.false_yellow_cards,
                                 "red_cards": self.false_red_cards,
                                 "letters": self.false_supervision_letters}}


def _key(by: str | None, time_column: str) -> str:
    if by is None:
        return "NULL"
    if by in DIMENSIONS:
        return f"c.{by}"
    if by == "window":
        return WINDOW
    if by in PERIODS:
        # Periods are Shanghai calendar periods.
        return f"strftime('{PERIODS[by]}', {time_column} + 28800, 'unixepoch')"
    raise ValueError(f"group by one of {[*DIMENSIONS, 'window', *PERIODS]} or nothing")


# The stage instant the case's record, as corrected, gives the issued kind now.
_STAGE_NOW = ("CASE i.kind WHEN 'yellow_card' THEN c.yellow_card_at WHEN 'red_card' THEN c.red_card_at"
              " WHEN 'supervision_letter' THEN c.supervision_letter_at END")
# Not reached (yet) by the record as it stands, or completed before it.
_DISOWNED = (f"({_STAGE_NOW} IS NULL OR {_STAGE_NOW} > ?"
             f" OR (c.completed_at IS NOT NULL AND c.completed_at < {_STAGE_NOW}))")


def _window(column: str, since: Instant | None, until: Instant | None) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if since is not None:
        clauses.append(f"{column} >= ?")
        params.append(since)
    if until is not None:
        clauses.append(f"{column} < ?")
        params.append(until)
    return "".join(f" AND {c}" for c in clauses), params


def statistics(
    connection: sqlite3.Connection,
    *,
    by: str | None = None,
    since: Instant | None = None,
    until: Instant | None = None,
    cases: Where | None = None,
    now: Instant | None = None,
) -> list[Figures]:
    """Figures for [since, until), one row per group (one row overall when `by` is None).

    `cases` narrows the cases counted (conditions on `cases c`: hall, unit, ...); `now` is
    the instant false alarms are judged at (default: the last instant there is).
    """
    cases = cases or Where()
    narrow, narrowing = cases.also, list(cases.params)
    rows: dict[Any, dict[str, Any]] = {}

    def add(sql: str, params: list[Any], names: tuple[str, ...]) -> None:
        for group, *values in connection.execute(sql, params):
            row = rows.setdefault(group, {"group": group})
            for name, value in zip(names, values, strict=True):
                row[name] = row.get(name, 0) + (value or 0)

    where, params = _window("c.accepted_at", since, until)
    add(f"SELECT {_key(by, 'c.accepted_at')}, count(*) FROM cases c WHERE 1 = 1{where}{narrow}"
        " GROUP BY 1", params + narrowing, ("received",))
    where, params = _window("c.completed_at", since, until)
    add(f"SELECT {_key(by, 'c.completed_at')}, count(*), sum(c.on_time = 1) FROM cases c"
        f" WHERE c.confirmed_at IS NOT NULL{where}{narrow} GROUP BY 1", params + narrowing,
        ("completed", "on_time"))
    where, params = _window("i.due_at", since, until)
    judged_at = [2**62 if now is None else now] * 3
    add(f"SELECT {_key(by, 'i.due_at')}, sum(i.kind = 'yellow_card'), sum(i.kind = 'red_card'),"
        " sum(i.kind = 'supervision_letter'),"
        f" sum(i.kind = 'yellow_card' AND {_DISOWNED}), sum(i.kind = 'red_card' AND {_DISOWNED}),"
        f" sum(i.kind = 'supervision_letter' AND {_DISOWNED})"
        " FROM case_issued i JOIN cases c USING (case_id)"
        f" WHERE i.escalation = 1{where}{narrow} GROUP BY 1",
        judged_at + params + narrowing,
        ("yellow_cards", "red_cards", "supervision_letters", "false_yellow_cards", "false_red_cards",
         "false_supervision_letters"))
    figures = []
    for group in sorted(rows, key=lambda g: (g is None, str(g))):
        row = rows[group]
        if row.get("completed"):
            row["on_time_rate"] = round(row.get("on_time", 0) / row["completed"], 4)
        figures.append(Figures(**row))
    if by is None and not figures:
        figures.append(Figures(group=None))
    return figures
