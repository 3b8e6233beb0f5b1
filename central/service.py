"""The running central service: the gateways' stream in, the countdown engine, the API and the big screen.

Wiring only. The parts are built in the order they depend on each other
(calendar, event store, case engine, ingest, projections, complaint desk,
HTTP), and each is handed the narrow callables it needs; optional parts come in
through the constructor: another case board (`cases`), another ratings book
(`ratings`), and handlers of other roles (`handlers`, e.g. provisioning's
registry projection, which the `hall` command builds: central never imports
provisioning).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from functools import partial
from typing import Any

from central.alarms import SecurityAlarm
from central.appointments import HallAppointments
from central.cases.calendar import WorkCalendar, load_calendar
from central.cases.database import case_store_at, refuse_to_open
from central.cases.engine import Engine
from central.cases.rules import Watermarks, default_rules
from central.citizens import Citizens
from central.complaints import ComplaintDesk, QueueEventVisits, ServedVisit
from central.complaints.visits import UnitOfVisit
from central.config import CentralConfig
from central.deadlines import WorkingDays
from central.erasure.eraser import Eraser
from central.erasure.places import CasePlace, CentralPlace, PersonalPlace
from central.followers import LogFollower
from central.hall_cases import CaseFactsFromHalls
from central.hall_watermarks import HallWatermarks
from central.ingest import CentralIngest
from central.personal.events import SealingEventStore
from central.projection import Projection
from central.queue_stats import QueueStatsProjection
from central.ratings import RatingBook
from central.store import CentralHandler, CentralStore
from central.supervision import load_standards, open_office
from central.supervision_store import supervision_store_at
from central.telemetry import Telemetry, recorders_of
from central.video import VideoRoom
from central.web.app import create_app
from central.web.caseadapter import EngineCases
from central.web.caseport import CaseBoard, Escalation
from central.web.context import CentralContext
from central.web.feed import ScreenFeed, ScreenRefresh
from central.web.hallfigures import QueueToday
from central.web.labels import look
from central.web.notify_feed import open_feed
from central.web.screen import ScreenParts
from central.web.screen.sqltally import SqlTally
from central.web.screen.supervision_slots import anomaly_slot, project_slot
from central.web.server import HttpServer
from spine.clock import Clock, SystemClock

log = logging.getLogger(__name__)


def open_case_engine(config: CentralConfig, clock: Clock, calendar: WorkCalendar
                     ) -> EngineCases:
    """The supervision records and their countdown: in `<data_dir>/cases.sqlite` beside a SQLite
    event store, in central's PostgreSQL database beside one there (migration 0006)."""
    where = case_store_at(config.event_store, config.cases_path)
    if not where.is_sqlite:
        refuse_to_open(where, config.cases_path)  # before the engine's first records are written
    engine = Engine.open(where, calendar=calendar, clock=lambda: clock.wall_ms() / 1000)
    engine.store.standards = load_standards(config.supervision)  # decisions are measured against these
    return EngineCases(engine, where)


def hall_watermarks(store: CentralStore, clock: Clock, cases: EngineCases | None
                    ) -> HallWatermarks:
    """Each hall's watermark, told to the case engine at each tick (its rules say when a
    hall counts as behind)."""
    rules = cases.engine.store.rules.watermark if cases is not None else Watermarks()
    watermarks = HallWatermarks(store, clock, behind_after_s=rules.behind_after_s)
    if cases is not None:
        cases.watermarks = watermarks.current
    return watermarks


def departments_from(ratings: RatingBook) -> UnitOfVisit:
    """A visit's unit, as the gateways attributed the ratings of that visit, officer or window."""

    def unit_of(visit: ServedVisit) -> str | None:
        return ratings.department_of(visit.hall, window=visit.window, officer=visit.officer,
                                     at_ms=visit.called_at, day=visit.day, ticket=visit.ticket)

    return unit_of


def alarm_data(alarm: SecurityAlarm) -> dict[str, Any]:
    """A security alarm as the big screen's stream announces it."""
    return {"hall": alarm.hall, "device": alarm.device, "type": alarm.type, "reason": alarm.reason,
            "refused_by": alarm.refused_by}


class CentralService:
    def __init__(
        self,
        config: CentralConfig,
        *,
        clock: Clock | None = None,
        handlers: Sequence[CentralHandler] = (),
        followers: Sequence[LogFollower] = (),
        cases: CaseBoard | None = None,
        ratings: RatingBook | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.followers = list(followers)
        # One working-day calendar for the countdown and every other deadline: the package's
        # years and the schedule files beside the case store.
        calendar = load_calendar(config.calendar_dir)
        working_days = WorkingDays(calendar)

        # The event log is append-only forever: personal data goes into it sealed, so it can be erased.
        self.store: CentralStore = SealingEventStore(config.event_store, self.clock)
        self.engine_cases = open_case_engine(config, self.clock, calendar) if cases is None else None
        self.cases: CaseBoard = cases if cases is not None else self._engine_board()
        self.watermarks = hall_watermarks(self.store, self.clock, self.engine_cases)
        self.ingest = CentralIngest(config, self.store, self.clock,
                                    case_scope=self.engine_cases.scope if self.engine_cases else None,
                                    on_heartbeat=self.watermarks.heartbeat)

        self.telemetry = Telemetry()
        self.queue_stats = QueueStatsProjection()
        self.ratings = ratings if ratings is not None else RatingBook(config.ratings, working_days)
        self.complaints = ComplaintDesk(
            self.store, config.complaints, working_days=working_days,
            send=self.ingest.send_command,
            recorders=partial(recorders_of, self.store),
            visits=QueueEventVisits(self.store),
            unit_of=departments_from(self.ratings),
        )
        # Each hall's one list of appointment codes a day: online bookings and green-channel passes.
        self.appointments = HallAppointments(self.ingest.send_command)
        # The citizens' platform (docs/citizens.md): SMS from the logs, online booking, the public site.
        self.citizens = Citizens(
            config, store=self.store, cases=self.engine_cases.alone if self.engine_cases else None,
            complaints=self.complaints, appointments=self.appointments, clock=self.clock,
            calendar=calendar, complete_until=lambda hall: self.watermarks.completeness(
                hall, self.clock.wall_ms()).complete_until,
            hall_names={h.hall: h.name or h.hall for h in config.ingest.halls})
        self.ingest.on_status = self._hall_status
        self.projections: tuple[Projection, ...] = (
            self.telemetry, self.queue_stats, self.ratings, self.complaints)
        # The supervision office: anomaly rules, discretion, major projects (docs/supervision.md).
        case_rules = self.engine_cases.engine.store.rules if self.engine_cases else default_rules()
        # The office and the big screen's SQL counts read the case store where the engine keeps
        # it: its own file, or this PostgreSQL database.
        case_store = case_store_at(config.event_store, config.cases_path) if self.engine_cases else None
        # Its own records are where the event store is (`supervision.sqlite` beside a SQLite one); it
        # reads the halls' events through a read-only connection of the store's file, or the store itself.
        own_file = config.data_dir / "supervision.sqlite"
        self.supervision = open_office(
            config.supervision, supervision_store_at(config.event_store, own_file), left_behind=own_file,
            events=self.store.url.path or self.store,
            cases=case_store, calendar=calendar,
            ladder=case_rules.ladder, grace_s=case_rules.watermark.grace_s, clock=self.clock.wall_ms,
            appointments=self.appointments, publish=lambda kind, data: self.feed.publish(kind, data))
        # The monitoring room's video wall and complaint evidence (docs/video.md).
        self.video = VideoRoom(config.video, self.store, config.data_dir, self.clock.wall_ms)
        self.projections += (self.video.directory,)
        # Personal data is erased where it is kept: the event store, and the case store if it is ours.
        places: list[PersonalPlace] = [CentralPlace(self.store), self.supervision.place]
        if self.engine_cases is not None:
            places.append(CasePlace(self.engine_cases.alone))
        places.append(self.citizens.retention)
        self.eraser = Eraser(places, config.privacy, clock=self.clock.wall_ms, sms=self.citizens.sms)
        self._retention_due_ms = 0
        # On PostgreSQL every central process's screens hear every process's changes (NOTIFY).
        self.feed: ScreenFeed = open_feed(self.store.url)
        self.store.alarmed = lambda alarm: self.feed.publish("security", alarm_data(alarm))
        case_facts = [CaseFactsFromHalls(self.engine_cases.record)] if self.engine_cases else []
        self.store.handlers.extend(
            [*self.projections, ScreenRefresh(self.feed), *case_facts, self.watermarks,
             *self.citizens.handlers, *handlers])

        self.context = CentralContext(
            store=self.store, clock=self.clock, complaints=self.complaints, feed=self.feed,
            cases=self.cases, case_intake=self.engine_cases, queue_today=QueueToday(self.store),
            ratings=self.ratings, hall_names={h.hall: h.name or h.hall for h in config.ingest.halls},
            hall_completeness=self.watermarks.completeness,
            supervision=self.supervision,
            # The big screen counts in SQL over the case store; a board handed in is counted row by row.
            screen=ScreenParts(tally=SqlTally(case_store) if case_store else None,
                               anomalies=anomaly_slot(self.supervision),
                               projects=project_slot(self.supervision)),
        )
        self.app = create_app(config.web, self.context)
        self.citizens.mount(self.app)
        self.app.state.video = self.video
        self.http = HttpServer(self.app, config.http.host, config.http.port)
        self._stop = threading.Event()
        self._engine: threading.Thread | None = None

    def _hall_status(self, hall: str, online: bool) -> None:
        """A hall's gateway came or went (its status is stored): the citizens' part sends its
        lists, and every screen redraws the hall's panel at once, not at its next refresh."""
        self.citizens.hall_status(hall, online)
        self.feed.touch()

    def _engine_board(self) -> CaseBoard:
        assert self.engine_cases is not None
        return self.engine_cases

    # --- life cycle ------------------------------------------------------

    def start(self) -> None:
        # Projections first: they catch up on the log before new events arrive.
        for projection in self.projections:
            projection.install(self.store)
        self.feed.start()  # listening before the first batch or tick announces anything
        self.ingest.start()
        log.info("central receiving on %s:%s", self.config.broker.host, self.config.broker.port)
        try:
            self.http.start()
        except RuntimeError as exc:
            # Receiving the halls' events matters more than the pages: keep doing that.
            log.error("%s: the API and the big screen are unavailable (is [http] port %s taken?); "
                      "the halls' events are still received", exc, self.config.http.port)
        self._engine = threading.Thread(target=self._run_engine, name="engine", daemon=True)
        self._engine.start()
        self.citizens.start()

    def stop(self) -> None:
        self._stop.set()
        if self._engine is not None:
            self._engine.join(10)
        self.http.stop()
        self.citizens.stop()
        self.ingest.stop()
        self.feed.close()
        self.store.close()
        self.supervision.close()
        self.context.screen.close()
        if self.engine_cases is not None:
            self.engine_cases.close()
            self.engine_cases.engine.close()

    def diagnostics(self) -> dict[str, Any]:
        """What `hall central` is doing: ingest counters, where its API listens, whether its big
        screens hear the changes."""
        return {"ingest": dict(self.ingest.receiver.counters), "http": self.http.base_url,
                "citizens": self.citizens.diagnostics(), "screen_feed": self.feed.diagnostics()}

    @property
    def base_url(self) -> str:
        return self.http.base_url

    # --- the periodic part ------------------------------------------------

    def _run_engine(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # the engine must outlive one bad tick; the next one retries
                log.exception("central's engine tick failed")
            self._stop.wait(self.config.web.tick_s)

    def _follow(self) -> None:
        for follower in self.followers:
            try:
                follower.follow(self.store)
            except Exception:  # another role's state: central's own tick goes on, the next pass retries
                log.exception("following the event log for the %s failed; the next tick retries",
                              follower.name)

    def tick(self) -> list[Escalation]:
        """Run the countdown and the complaint deadlines up to now, announce what changed, and apply
        the retention rule of personal data (`[privacy] check_every_s`)."""
        now_ms = self.clock.wall_ms()
        steps = self.cases.tick(now_ms // 1000)
        overdue = list(self.complaints.tick(now_ms, int(self.config.web.hold_retry_s * 1000)))
        self.citizens.tick(now_ms)
        if now_ms >= self._retention_due_ms:
            self._retention_due_ms = now_ms + int(self.config.privacy.check_every_s * 1000)
            self.eraser.erase_due()
        self.supervision.tick(now_ms)
        self._follow()
        # Announced once the whole tick is done: a screen told mid-tick would read its board while
        # the anomaly rules still run, and wait for them (seen: 1.5 s for a city's midnight).
        # Worse lights are announced on the screen; any other change just redraws it. All in one
        # go: on PostgreSQL, one transaction of notifications for a city's midnight.
        self.feed.publish_many([
            *(("escalation" if _worse(step) else "cases", {
                "case_id": step.case_id, "stage": step.stage, "hall": step.hall, "unit": step.unit,
                "at": step.at}) for step in steps),
            *(("complaint", {"id": complaint, "overdue": True}) for complaint in overdue)])
        return steps


def _worse(step: Escalation) -> bool:
    return step.before is None or look(step.stage).severity > look(step.before).severity
