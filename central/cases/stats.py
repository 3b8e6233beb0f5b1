"""The article's figures: received, completed, yellow cards, red cards, letters, on-time rate.

Grouped by hall, unit, window, matter, officer, or by period (day, month, year)
of the figure's own instant: a case counts as received when accepted, as
completed when done (and confirmed), a card when it fell due. The one query of
these figures: the CLI (`hall central stats`), the API (`/api/statistics`) and
the performance ranking all read it, on SQLite or PostgreSQL (one text, the two spellings of a
JSON field and a calendar period apart).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import text

from central.cases.cardcounts import for_good, stage_at
from central.cases.database import dialect
from central.cases.timebase import Instant, day_of, midnight
from central.reads import built, rows
from central.where import Where
from spine.statement import Tx

DIMENSIONS = ("hall", "unit", "matter", "officer")
WINDOWS = {"sqlite": "c.hall || '/' || json_extract(c.file, '$.window')",
           "postgresql": "c.hall || '/' || (CAST(c.file AS json) ->> 'window')"}
"""A window is `hall/window`: window names repeat from hall to hall (ratings name them so too)."""
PERIODS = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}
_PG_PERIODS = {"day": "YYYY-MM-DD", "month": "YYYY-MM", "year": "YYYY"}


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


def _key(by: str | None, time_column: str, spelling: str) -> str:
    if by is None:
        return "NULL"
    if by in DIMENSIONS:
        return f"c.{by}"
    if by == "window":
        return WINDOWS[spelling]
    if by in PERIODS:
        # Periods are Shanghai calendar periods.
        if spelling == "postgresql":
            return f"to_char(to_timestamp({time_column} + 28800) AT TIME ZONE 'UTC', '{_PG_PERIODS[by]}')"
        return f"strftime('{PERIODS[by]}', {time_column} + 28800, 'unixepoch')"
    raise ValueError(f"group by one of {[*DIMENSIONS, 'window', *PERIODS]} or nothing")


def where_text(where: Where, prefix: str = "w") -> tuple[str, dict[str, Any]]:
    """A `Where`'s ` AND ...` text with its `?` named (`:w0`, `:w1`...), so it runs on either
    database; its values stay parameters."""
    pieces = where.also.split("?")
    named = pieces[0] + "".join(f":{prefix}{i}{piece}" for i, piece in enumerate(pieces[1:]))
    return named, {f"{prefix}{i}": value for i, value in enumerate(where.params)}



# The stage instant the case's record, as corrected, gives the issued kind now.
_STAGE_NOW = stage_at("i", "c")
# Not reached (yet) by the record as it stands, or completed before it.
_DISOWNED = (f"({_STAGE_NOW} IS NULL OR {_STAGE_NOW} > :judged"
             f" OR (c.completed_at IS NOT NULL AND c.completed_at < {_STAGE_NOW}))")


def _count(condition: str) -> str:
    """How many rows meet `condition` (a sum of 0s and 1s on both databases; PostgreSQL does not
    add up booleans)."""
    return f"sum(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def _window(column: str, since: Instant | None, until: Instant | None) -> tuple[str, dict[str, Any]]:
    clauses, params = [], {}
    if since is not None:
        clauses.append(f"{column} >= :since")
        params["since"] = since
    if until is not None:
        clauses.append(f"{column} < :until")
        params["until"] = until
    return "".join(f" AND {c}" for c in clauses), params


_COUNTED_GROUPS = (None, "hall", "unit", *PERIODS)
_COUNTED_FILTERS = {"c.hall = ?", "c.unit = ?"}


def _counted(by: str | None, since: Instant | None, until: Instant | None, cases: Where) -> bool:
    """Whether the day and card counts (`central.cases.daycounts`, `central.cases.cardcounts`)
    answer these figures as counting the cases would: grouped by what
    they keep (hall, unit, a period of days), narrowed by hall or unit only, over whole Shanghai
    days, and bounded on one side at least (unbounded, a confirmed case without a completion
    instant would count; the counts keep none)."""
    bounds = [instant for instant in (since, until) if instant is not None]
    return (by in _COUNTED_GROUPS and bool(bounds)
            and all(instant == midnight(day_of(instant)) for instant in bounds)
            and all(clause in _COUNTED_FILTERS for clause in cases.also.split(" AND ")[1:]))


def _day(instant: Instant | None) -> int | None:
    return None if instant is None else day_of(instant)


def _sum_of(measure: str) -> str:
    return f"sum(CASE WHEN c.measure = '{measure}' THEN c.n ELSE 0 END)"


_KINDS = ("'yellow_card'", "'red_card'", "'supervision_letter'")
_CARDS = ("yellow_cards", "red_cards", "supervision_letters")
_FALSE_CARDS = ("false_yellow_cards", "false_red_cards", "false_supervision_letters")
_Add = Callable[[str, dict[str, Any], tuple[str, ...]], None]


def _counted_cards(add: _Add, by: str | None, since: Instant | None, until: Instant | None,
                   narrow: str, judged: Instant, spelling: str) -> None:
    """The cards from the counts the database keeps (`central.cases.cardcounts`): issued, and
    disowned for good, added up per group; then the cards disowned only until their stage
    instant, as corrected, which is after `judged`. Those are read, not counted ahead: the
    pushed cards (a short table), and the cards due after `judged` (normally none), whose
    stage instant is at most their due_at (else they are pushed ones, counted once)."""
    where, params = _window("c.day", _day(since), _day(until))
    issued = [f"sum(CASE WHEN c.kind = {kind} THEN c.issued ELSE 0 END)" for kind in _KINDS]
    disowned = [f"sum(CASE WHEN c.kind = {kind} THEN c.disowned ELSE 0 END)" for kind in _KINDS]
    add(f"SELECT {_key(by, '(c.day * 86400 - 28800)', spelling)}, {', '.join(issued + disowned)}"
        f" FROM case_card_counts c WHERE 1 = 1{where}{narrow} GROUP BY 1 HAVING sum(c.issued) <> 0",
        params, (*_CARDS, *_FALSE_CARDS))
    where, params = _window("due_at", since, until)
    stage = _STAGE_NOW
    later = f"{stage} > :judged AND NOT {for_good('i', 'c')} AND (i.pushed = 1 OR {stage} <= i.due_at)"
    add(f"SELECT {_key(by, 'i.due_at', spelling)},"
        f" {', '.join(_count(f'i.kind = {kind}') for kind in _KINDS)}"
        " FROM (SELECT case_id, kind, due_at, 1 AS pushed FROM case_cards_pushed"
        f" WHERE 1 = 1{where} UNION ALL SELECT case_id, kind, due_at, 0 FROM case_issued"
        f" WHERE escalation = 1 AND due_at > :judged{where}) i JOIN cases c USING (case_id)"
        f" WHERE {later}{narrow} GROUP BY 1", {**params, "judged": judged}, _FALSE_CARDS)


def statistics(
    connection: Tx,
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
    spelling = dialect(connection)
    narrow, narrowing = where_text(cases or Where())
    found: dict[Any, dict[str, Any]] = {}

    def add(sql: str, params: dict[str, Any], names: tuple[str, ...]) -> None:
        for group, *values in rows(connection, built(text(sql)), {**params, **narrowing}):
            row = found.setdefault(group, {"group": group})
            for name, value in zip(names, values, strict=True):
                row[name] = row.get(name, 0) + int(value or 0)

    counted = _counted(by, since, until, cases or Where())
    if counted:
        # The day counts the database keeps (`central.cases.daycounts`): a group's counts added
        # up, where counting the cases would read every case of the period. A group whose
        # counts add up to nothing (a case corrected into another unit) is no group, as there.
        where, params = _window("c.day", _day(since), _day(until))
        day_start = "(c.day * 86400 - 28800)"
        add(f"SELECT {_key(by, day_start, spelling)}, sum(c.n) FROM case_day_counts c"
            f" WHERE c.measure = 'received'{where}{narrow} GROUP BY 1 HAVING sum(c.n) <> 0",
            params, ("received",))
        add(f"SELECT {_key(by, day_start, spelling)}, {_sum_of('completed')}, {_sum_of('on_time')}"
            f" FROM case_day_counts c WHERE c.measure IN ('completed', 'on_time'){where}{narrow}"
            f" GROUP BY 1 HAVING {_sum_of('completed')} <> 0", params, ("completed", "on_time"))
    else:
        where, params = _window("c.accepted_at", since, until)
        add(f"SELECT {_key(by, 'c.accepted_at', spelling)}, count(*) FROM cases c"
            f" WHERE 1 = 1{where}{narrow} GROUP BY 1", params, ("received",))
        where, params = _window("c.completed_at", since, until)
        add(f"SELECT {_key(by, 'c.completed_at', spelling)}, count(*), {_count('c.on_time = 1')}"
            f" FROM cases c WHERE c.confirmed_at IS NOT NULL{where}{narrow} GROUP BY 1", params,
            ("completed", "on_time"))
    judged = 2**62 if now is None else now
    if counted:
        _counted_cards(add, by, since, until, narrow, judged, spelling)
    else:
        where, params = _window("i.due_at", since, until)
        issued = [_count(f"i.kind = {kind}") for kind in _KINDS]
        disowned = [_count(f"i.kind = {kind} AND {_DISOWNED}") for kind in _KINDS]
        add(f"SELECT {_key(by, 'i.due_at', spelling)}, {', '.join(issued + disowned)}"
            " FROM case_issued i JOIN cases c USING (case_id)"
            f" WHERE i.escalation = 1{where}{narrow} GROUP BY 1",
            {**params, "judged": judged}, (*_CARDS, *_FALSE_CARDS))
    figures = []
    for group in sorted(found, key=lambda g: (g is None, str(g))):
        row = found[group]
        if row.get("completed"):
            row["on_time_rate"] = round(row.get("on_time", 0) / row["completed"], 4)
        figures.append(Figures(**row))
    if by is None and not figures:
        figures.append(Figures(group=None))
    return figures
