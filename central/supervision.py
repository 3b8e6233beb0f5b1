"""The supervision office's part of central: anomaly rules, discretionary standards, major projects.

Built by the central service (`open_office`) from its configuration and the
stores it already keeps; it keeps its own records in `supervision.sqlite`
(`central.supervision_store`), beside the case store, whichever database the
event store is on. It reads the case store through read-only connections, and
the event store through its `read`: a read-only connection of its own on a
SQLite file, the store itself on PostgreSQL (docs/operations.md). `tick` runs the anomaly rules over what
arrived since the last tick; the HTTP side reads and moves the records.
See docs/supervision.md.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from central.anomalies.book import AnomalyBook, Raised
from central.anomalies.feeds import (
    CaseLogFeed,
    ComplaintFeed,
    EventFeed,
    EventReads,
    Feed,
    ReadOnlyFile,
    open_reader,
)
from central.anomalies.horizons import SourceHorizons
from central.anomalies.judging import LogCases
from central.anomalies.place import SupervisionPlace
from central.anomalies.pseudonyms import Pseudonyms, applicant_key
from central.anomalies.table import AnomalyRules, Risk
from central.anomalies.watch import AnomalyWatch
from central.appointments import HallAppointments
from central.cases.calendar import WorkCalendar
from central.cases.rules import Ladder
from central.discretion import Standards
from central.projects import GreenChannel, ProjectDesk, case_rows
from central.supervision_settings import SupervisionSettings
from central.supervision_store import SupervisionStore

Publish = Callable[[str, dict[str, Any]], object]
"""(kind, data) -> the big screen's change feed."""


def load_rules(settings: SupervisionSettings) -> AnomalyRules:
    return AnomalyRules.load(settings.anomaly_rules)


def load_standards(settings: SupervisionSettings) -> Standards:
    return Standards.load(settings.discretion_standards)


@dataclass
class SupervisionOffice:
    store: SupervisionStore
    rules: AnomalyRules
    anomalies: AnomalyBook
    watch: AnomalyWatch
    projects: ProjectDesk
    green_channel: GreenChannel
    place: SupervisionPlace
    screen_risk: Risk
    publish: Publish = lambda _kind, _data: None
    readers: list[sqlite3.Connection | ReadOnlyFile] = field(default_factory=list)
    """What the office opened itself, and closes."""

    def tick(self, now_ms: int) -> list[Raised]:
        """Run the rules over what arrived; announce the anomalies that stand on the big screen."""
        raised = self.watch.tick(now_ms).raised
        for anomaly in raised:
            if Risk(anomaly.risk).rank >= self.screen_risk.rank:
                self.publish("anomaly", {"id": anomaly.id, "rule": anomaly.rule, "risk": anomaly.risk,
                                         "title": anomaly.title, "hall": anomaly.hall, "unit": anomaly.unit})
        return raised

    def close(self) -> None:
        self.store.close()
        for reader in self.readers:
            reader.close()


def open_office(settings: SupervisionSettings, path: Path, *, events: Path | EventReads,
                cases_path: Path | None, calendar: WorkCalendar, ladder: Ladder, grace_s: int,
                clock: Callable[[], int], appointments: HallAppointments, publish: Publish
                ) -> SupervisionOffice:
    """The office over central's stores: `events` the event store's SQLite file (read through a
    read-only connection of the office's own) or the store itself; `cases_path` None: this central
    keeps no case records."""
    rules = load_rules(settings)
    store = SupervisionStore(path)
    own_events: ReadOnlyFile | None = None
    event_reads: EventReads
    if isinstance(events, Path):
        own_events = event_reads = ReadOnlyFile(events)
    else:
        event_reads = events
    cases = open_reader(cases_path) if cases_path is not None else None
    # Two connections to the case store: the feed reads in snapshots, the rules read a case's history.
    history = open_reader(cases_path) if cases_path is not None else None
    readers = [c for c in (own_events, cases, history) if c is not None]

    lock = threading.Lock()  # the engine's tick and the API's threads share the connection

    def read_cases(sql: str, params: tuple[Any, ...]) -> list[Any]:
        if history is None:
            return []
        with lock:
            return history.execute(sql, params).fetchall()

    kinds = {kind for rule in rules.enabled() for kind in rule.build().kinds} | {"case.corrected"}
    feeds: list[Feed] = [EventFeed(event_reads, kinds), ComplaintFeed(event_reads, kinds)]
    if cases is not None:
        feeds.insert(0, CaseLogFeed(cases, kinds))
    with store.transaction() as tx:
        key = applicant_key(tx)
    book = AnomalyBook(store)
    watch = AnomalyWatch(store, book, rules, feeds, SourceHorizons(event_reads, cases, grace_s * 1000),
                         cases=LogCases(read_cases), calendar=calendar, ladder=ladder,
                         pseudonym=Pseudonyms(key, read_cases))
    projects = ProjectDesk(store, case_rows(read_cases), calendar=calendar, ladder=ladder, clock=clock)
    channel = GreenChannel(store, appointments.send_day, code_length=settings.pass_code_length, clock=clock)
    appointments.add(channel)  # its passes go out in each hall's one day list, with the bookings
    return SupervisionOffice(store, rules, book, watch, projects, channel, SupervisionPlace(store),
                             Risk(settings.screen_risk), publish, readers)
