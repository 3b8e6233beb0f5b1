"""The supervision office's part of central: anomaly rules, discretionary standards, major projects.

Built by the central service (`open_office`) from its configuration and the
stores it already keeps; it keeps its own records where the event store is
(`central.supervision_store`): `supervision.sqlite` beside a SQLite event store,
central's PostgreSQL database beside one there, so that every central process
answers the office's pages from the same records and may tick its rules. It
reads the case store through a connection of its own
(`CaseReads`: read-only on a SQLite file, or central's PostgreSQL database), and
the event store through its `read`: a read-only connection of its own on a
SQLite file, the store itself on PostgreSQL (docs/operations.md). `tick` runs the anomaly rules over what
arrived since the last tick; the HTTP side reads and moves the records.
See docs/supervision.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from central.anomalies.book import AnomalyBook, Raised
from central.anomalies.casereads import CaseReads, member_cases
from central.anomalies.feeds import (
    CaseLogFeed,
    ComplaintFeed,
    EventFeed,
    EventReads,
    Feed,
    ReadOnlyFile,
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
from central.projects import GreenChannel, ProjectDesk
from central.supervision_settings import SupervisionSettings
from central.supervision_store import SupervisionStore, refuse_supervision_left_behind
from spine.storeurl import StoreUrl

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
    readers: list[CaseReads | ReadOnlyFile] = field(default_factory=list)
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


def open_office(settings: SupervisionSettings, where: Path | StoreUrl, *, events: Path | EventReads,
                cases: Path | StoreUrl | None, calendar: WorkCalendar, ladder: Ladder, grace_s: int,
                clock: Callable[[], int], appointments: HallAppointments, publish: Publish,
                left_behind: Path | None = None) -> SupervisionOffice:
    """The office over central's stores: `where` its own records (`supervision.sqlite`, or central's
    PostgreSQL database: `supervision_store_at`); `events` the event store's SQLite file (read
    through a read-only connection of the office's own) or the store itself; `cases` where the case
    store is (its SQLite file, or central's PostgreSQL database; None: no case records); `left_behind`
    the file the office kept before, refused while it holds records the database lacks."""
    rules = load_rules(settings)
    store = SupervisionStore(where)
    if left_behind is not None and store.on_postgresql:
        try:
            refuse_supervision_left_behind(left_behind, store)
        except BaseException:
            store.close()
            raise
    own_events: ReadOnlyFile | None = None
    event_reads: EventReads
    if isinstance(events, Path):
        own_events = event_reads = ReadOnlyFile(events)
    else:
        event_reads = events
    case_reads = CaseReads.open(cases) if cases is not None else None
    readers = [c for c in (own_events, case_reads) if c is not None]

    kinds = {kind for rule in rules.enabled() for kind in rule.build().kinds} | {"case.corrected"}
    feeds: list[Feed] = [EventFeed(event_reads, kinds), ComplaintFeed(event_reads, kinds)]
    if case_reads is not None:
        feeds.insert(0, CaseLogFeed(case_reads, kinds))
    with store.transaction() as tx:
        key = applicant_key(tx)
    book = AnomalyBook(store)
    watch = AnomalyWatch(store, book, rules, feeds, SourceHorizons(event_reads, case_reads, grace_s * 1000),
                         cases=LogCases(case_reads), calendar=calendar, ladder=ladder,
                         pseudonym=Pseudonyms(key, case_reads))
    projects = ProjectDesk(store, member_cases(case_reads) if case_reads is not None else lambda _ids: [],
                           calendar=calendar, ladder=ladder, clock=clock)
    channel = GreenChannel(store, appointments.send_day, code_length=settings.pass_code_length, clock=clock)
    appointments.add(channel)  # its passes go out in each hall's one day list, with the bookings
    return SupervisionOffice(store, rules, book, watch, projects, channel, SupervisionPlace(store),
                             Risk(settings.screen_risk), publish, readers)
