"""Where a case's facts come from, and how far each source is known complete: its watermark.

Facts reach central late: a hall offline for hours, an approval system that
syncs nightly. Escalations are issued exactly once and never retracted, so
they must not be issued early: the engine judges each case as of its source's
*horizon*, the instant up to which the source's facts are known, less a grace
period for facts that reach their own stream a little after their instant.

- `LIVE` (""): facts stated as they happen (a person at a form, the Python API,
  the CLI): complete up to now, no grace.
- `hall:<hall>`: a hall's stream through its gateway; central measures its
  watermark from the gateway's batches and heartbeats (`central.hall_watermarks`).
- `api:<client>`: an API client that syncs (configured `feed = "synced"`); each
  of its imports says how far it is complete.

A source that has no watermark yet holds its cases: nothing is issued for them.
The watermarks are kept in `case_sources`, each only ever moved forward (on SQLite or
PostgreSQL: statements written once, `spine.statement`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable, bindparam, select

from central.cases.rules import Watermarks
from central.cases.tables import CASE_SOURCES
from central.cases.timebase import Instant
from spine.statement import Statement, Tx, insert_for

LIVE = ""
"""The source of facts stated as they happen: complete up to now."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS case_sources (
    source TEXT PRIMARY KEY,
    watermark INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
"""


_S = CASE_SOURCES.c
_ALL = Statement(lambda _dialect: select(_S.source, _S.watermark))
_ONE = Statement(lambda _dialect: select(_S.watermark).where(_S.source == bindparam("source")))


def _advanced(dialect: str) -> Executable:
    insert = insert_for(dialect, CASE_SOURCES).values(
        source=bindparam("source"), watermark=bindparam("watermark"),
        updated_at=bindparam("updated_at"))
    return insert.on_conflict_do_update(
        index_elements=[_S.source],
        set_={"watermark": insert.excluded.watermark, "updated_at": insert.excluded.updated_at},
        where=insert.excluded.watermark > _S.watermark)  # never back


_ADVANCE = Statement(_advanced)


def hall_source(hall: str) -> str:
    return f"hall:{hall}"


def client_source(client: str) -> str:
    return f"api:{client}"


@dataclass(frozen=True)
class SourceState:
    """A source as the engine sees it at an instant."""

    source: str
    watermark: Instant | None
    """Its facts are known complete up to here (None: not yet known at all)."""
    horizon: Instant | None
    """Its cases are judged as of here: the watermark less the grace, never after now."""
    incomplete_since: Instant | None
    """The watermark, when it lags now by more than `behind_after_s`: the source is behind."""


class SourceBook:
    """The watermark of every source, in the case store's own file (one per connection)."""

    def __init__(self, connection: Tx, rules: Watermarks) -> None:
        self.connection = connection
        self.rules = rules
        if isinstance(connection, sqlite3.Connection):
            connection.executescript(SCHEMA)

    def watermarks(self) -> dict[str, Instant]:
        return {str(source): int(at) for source, at in _ALL.run(self.connection).fetchall()}

    def watermark(self, source: str) -> Instant | None:
        row = _ONE.run(self.connection, {"source": source}).fetchone()
        return None if row is None else int(row[0])

    def advance(self, watermarks: Mapping[str, Instant], now: Instant) -> list[str]:
        """Move sources' watermarks forward (never back) inside the caller's transaction;
        returns the sources that moved. Nothing is written when nothing moved."""
        if not watermarks:
            return []
        known = self.watermarks()
        moved: list[dict[str, Any]] = [
            {"source": source, "watermark": at, "updated_at": now}
            for source, at in watermarks.items()
            if source != LIVE and (source not in known or at > known[source])]
        _ADVANCE.run_many(self.connection, moved)
        return [row["source"] for row in moved]

    def horizon(self, source: str, now: Instant) -> Instant | None:
        """The instant the cases of `source` are judged as of; None while it has no watermark."""
        if source == LIVE:
            return now
        return self._horizon(self.watermark(source), now)

    def horizons(self, now: Instant) -> dict[str, Instant]:
        """Every source that can be judged now, with its horizon (LIVE first)."""
        out = {LIVE: now}
        for source, watermark in self.watermarks().items():
            horizon = self._horizon(watermark, now)
            if horizon is not None:
                out[source] = horizon
        return out

    def state(self, source: str, now: Instant) -> SourceState:
        if source == LIVE:
            return SourceState(LIVE, now, now, None)
        watermark = self.watermark(source)
        return SourceState(source, watermark, self._horizon(watermark, now),
                           self.incomplete_since(watermark, now))

    def states(self, now: Instant) -> list[SourceState]:
        """Every source with a watermark, by name."""
        return [self.state(source, now) for source in sorted(self.watermarks())]

    def incomplete_since(self, watermark: Instant | None, now: Instant) -> Instant | None:
        if watermark is None or now - watermark <= self.rules.behind_after_s:
            return None
        return watermark

    def _horizon(self, watermark: Instant | None, now: Instant) -> Instant | None:
        if watermark is None:
            return None
        return min(now, watermark - self.rules.grace_s)



def is_late(rules: Watermarks, due_at: Instant, recorded_at: Instant) -> bool:
    """Issued later than a current source's grace and lag allow: it waited for late facts
    (or for an engine that was not running, or it came with a history import)."""
    return recorded_at - due_at > rules.grace_s + rules.behind_after_s
