"""The countdown engine: at each tick, handle the cases whose next transition has come, and only those.

Each case's next transition instant is indexed (`cases.next_at`, by source).
A tick first takes the sources' latest watermarks, then for each source reads
the rows due by that source's horizon (now for facts stated live; for a hall,
how far its stream is known complete, less the grace) in batches, recomputes
each from its clock columns, issues the escalations and reminders that fell
due by the horizon, and stores the new light and next instant, one durable
transaction per batch. Nothing is issued ahead of the facts, so nothing
issued ever needs retracting. A crash mid-run loses at most the uncommitted
batch, which the next tick does again; the `(case, kind)` key of issued
escalations keeps each one single.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from central.cases.calendar import WorkCalendar
from central.cases.recompute import (
    CalendarUpdate,
    reevaluate_open,
    sync_calendar,
    sync_rules,
    update_calendar,
)
from central.cases.rules import RuleTable
from central.cases.stages import Stage
from central.cases.store import CaseStore
from central.cases.tables import CASES
from central.cases.timebase import Instant
from spine.statement import Statement
from spine.storeurl import StoreUrl

log = logging.getLogger(__name__)
_NEXT_DUE = Statement(lambda _dialect: select(func.min(CASES.c.next_at)).where(
    CASES.c.next_at.is_not(None)))


@dataclass(frozen=True)
class StageChange:
    case_id: str
    before: Stage | None
    after: Stage


@dataclass(frozen=True)
class Issue:
    """An escalation or reminder the tick appended to the log."""

    case_id: str
    kind: str
    due_at: Instant
    seq: int


@dataclass(frozen=True)
class TickReport:
    now: Instant
    processed: int = 0
    changes: list[StageChange] = field(default_factory=list)
    issued: list[Issue] = field(default_factory=list)


class Engine:
    """Drives the lights of every case in a CaseStore forward in time."""

    def __init__(self, store: CaseStore, *, batch: int = 2000) -> None:
        self.store = store
        self.batch = batch

    @classmethod
    def open(
        cls,
        path: str | Path | StoreUrl,
        *,
        calendar: WorkCalendar | None = None,
        calendar_dir: Path | None = None,
        rules: RuleTable | None = None,
        clock: Callable[[], float] = time.time,
    ) -> Engine:
        """Open the store; a calendar or rule table that changed since last time recomputes cases."""
        store = CaseStore.open(path, calendar=calendar, calendar_dir=calendar_dir, rules=rules, clock=clock)
        sync_calendar(store, store.now())
        sync_rules(store, store.now())
        return cls(store)

    def close(self) -> None:
        self.store.close()

    def next_due(self) -> Instant | None:
        """When the next tick has work: the earliest indexed transition."""
        self.store.ready()
        row = _NEXT_DUE.run(self.store.connection).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def tick(self, now: Instant | None = None, *,
             watermarks: Mapping[str, Instant] | None = None) -> TickReport:
        """Handle every case whose next transition has come by its source's horizon.

        `watermarks` are the latest of sources measured elsewhere (each hall's stream,
        measured by central's ingest): they are kept, only ever moving forward, before
        anything is judged.
        """
        now = self.store.now() if now is None else now
        self.store.ready()  # a connection lost with the server is replaced before the tick reads
        if watermarks:
            with self.store.writing():
                self.store.sources.advance(watermarks, now)
        report = TickReport(now)
        processed = 0
        for source, horizon in self.store.sources.horizons(now).items():
            processed += self._tick_source(source, horizon, now, report)
        if report.issued:
            log.info("tick: %d cases due, %d escalations/reminders issued",
                     processed, len(report.issued))
        return TickReport(now, processed, report.changes, report.issued)

    def _tick_source(self, source: str, horizon: Instant, now: Instant,
                     report: TickReport) -> int:
        processed = 0
        while True:
            with self.store.writing():
                rows = self.store.projector.due_rows(source, horizon, self.batch)
                if not rows:
                    return processed
                for refreshed in self.store.projector.refresh_rows(rows, horizon, now):
                    if refreshed.stage != refreshed.stage_before:
                        report.changes.append(
                            StageChange(refreshed.case_id, refreshed.stage_before,
                                        refreshed.stage)
                        )
                    for issued in refreshed.issued:
                        report.issued.append(
                            Issue(refreshed.case_id, issued.kind, issued.due_at, issued.seq)
                        )
                processed += len(rows)

    def reevaluate(self, now: Instant | None = None) -> int:
        """Recompute every open case from its facts (a changed rule table does this at open)."""
        return reevaluate_open(self.store, self.store.now() if now is None else now, self.batch)

    def update_calendar(self, calendar: WorkCalendar, now: Instant | None = None
                        ) -> CalendarUpdate | None:
        """Use a new calendar; the affected cases are recomputed and the change is logged."""
        return update_calendar(self.store, calendar, self.store.now() if now is None else now)
