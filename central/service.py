"""The running central service: the gateways' stream in, the countdown engine, the API and the big screen."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from typing import Any

from fastapi import APIRouter, Depends

from central.cases.api import router as case_router
from central.cases.engine import Engine
from central.cases.store import CaseConflict, EntryRejected, UnknownCase
from central.complaints import ComplaintDesk, QueueEventVisits
from central.config import CentralConfig
from central.ingest import CentralIngest
from central.queue_stats import QueueStatsProjection
from central.ratings import RatingBook, ratings_router
from central.store import CentralHandler, CentralStore
from central.telemetry import Telemetry, recorders_of
from central.web.app import create_app, include_documented, include_guarded
from central.web.caseadapter import EngineCases
from central.web.caseport import CaseBoard, Escalation, NoCases
from central.web.context import CentralContext
from central.web.feed import ChangeFeed
from central.web.hallfigures import QueueToday
from central.web.labels import look
from central.web.server import HttpServer
from contract.topics import gateway_link
from spine.clock import Clock, SystemClock
from spine.receiver import AcceptedEvent

log = logging.getLogger(__name__)


class ScreenRefresh:
    """Tells the big screen that stored events may have changed what it shows."""

    def __init__(self, feed: ChangeFeed) -> None:
        self.feed = feed

    def handle(self, tx: sqlite3.Connection, hall: str, event: AcceptedEvent) -> None:
        self.feed.touch()


def open_case_engine(config: CentralConfig, clock: Clock) -> EngineCases:
    """The supervision records and their countdown, in `<data_dir>/cases.sqlite`."""
    path = config.cases_path
    engine = Engine.open(path, clock=lambda: clock.wall_ms() / 1000)
    return EngineCases(engine, path)


class CaseFactsFromHalls:
    """Case facts a hall sends as events (a window's system entering a case) go into the case store."""

    ISSUED_BY_CENTRAL = ("case.escalated", "case.reminder")

    def __init__(self, cases: EngineCases) -> None:
        self.cases = cases

    def handle(self, tx: sqlite3.Connection, hall: str, event: AcceptedEvent) -> None:
        kind = event.envelope.type
        if not kind.startswith("case.") or kind in self.ISSUED_BY_CENTRAL:
            return
        try:
            with self.cases.lock:
                self.cases.engine.store.record(kind, event.envelope.body)
        except (EntryRejected, CaseConflict, UnknownCase) as exc:
            # Kept in the event log as received; the supervision office sees the refusal here.
            log.warning("hall %s sent a %s that the case store refused: %s", hall, kind, exc)


class CentralService:
    def __init__(
        self,
        config: CentralConfig,
        *,
        clock: Clock | None = None,
        handlers: list[CentralHandler] | None = None,
        cases: CaseBoard | None = None,
        routers: list[APIRouter] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.feed = ChangeFeed()
        self.store = CentralStore(config.events_path, self.clock, handlers)
        self.ingest = CentralIngest(config, self.store, self.clock)
        self.telemetry = Telemetry()
        self.complaints = ComplaintDesk(
            self.store, config.complaints,
            send=self.send_command,
            recorders=lambda hall: recorders_of(self.store, hall),
            visits=QueueEventVisits(self.store, lambda _hall, _window: None),
        )
        self.store.handlers.extend(
            [self.telemetry, self.complaints, QueueStatsProjection(), ScreenRefresh(self.feed)])
        if config.provisioning_registry is not None:
            from provisioning.central import RegistryProjection

            self.store.handlers.append(RegistryProjection(config.provisioning_registry))
        self.engine_cases: EngineCases | None = None
        if cases is None:
            self.engine_cases = open_case_engine(config, self.clock)
        self.cases: CaseBoard = cases or self.engine_cases or NoCases()
        self.context = CentralContext(
            store=self.store, clock=self.clock, complaints=self.complaints, feed=self.feed,
            cases=self.cases, hall_names={h.hall: h.name or h.hall for h in config.ingest.halls},
            queue_today=QueueToday(self.store),
        )
        self.app = create_app(self.context, config.web, routers)
        self.ratings = self._attach_ratings()
        if self.engine_cases is not None:
            self._attach_case_door(self.engine_cases)
        self.http = HttpServer(self.app, config.http.host, config.http.port)
        self._stop = threading.Event()
        self._engine: threading.Thread | None = None

    def _attach_ratings(self) -> RatingBook:
        """The ratings projection: hall figures, performance input, and its own API if it documents."""
        book = RatingBook()
        book.install(self.store)
        self.store.handlers.append(book)
        self.context.ratings = book
        self.context.ratings_today = book.today
        include_documented(self.app, ratings_router(book))
        return book

    def _attach_case_door(self, cases: EngineCases) -> None:
        """The case engine's own API (entries, facts, calculator, log) and the halls' case events."""
        self.app.state.case_store = cases.engine.store
        # The store has one SQLite connection, shared with the engine's tick: one user at a time.
        skipped = include_guarded(self.app, case_router, prefix="/api",
                                  dependencies=[Depends(cases.hold)])
        if skipped:
            log.debug("central serves its own %s", ", ".join(skipped))
        self.store.handlers.append(CaseFactsFromHalls(cases))

    # --- life cycle ------------------------------------------------------

    def start(self) -> None:
        # Projections first: they catch up on the log before new events arrive.
        for projection in (self.telemetry, self.complaints):
            projection.install(self.store)
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

    def stop(self) -> None:
        self._stop.set()
        if self._engine is not None:
            self._engine.join(10)
        self.http.stop()
        self.ingest.stop()
        self.store.close()
        if self.engine_cases is not None:
            self.engine_cases.close()
            self.engine_cases.engine.close()

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

    def tick(self) -> list[Escalation]:
        """Run the countdown and the complaint deadlines up to now; announce what changed."""
        now_ms = self.clock.wall_ms()
        steps = self.cases.tick(now_ms // 1000)
        for step in steps:
            # Worse lights are announced on the screen; any other change just redraws it.
            worse = step.before is None or look(step.stage).severity > look(step.before).severity
            self.feed.publish("escalation" if worse else "cases", {
                "case_id": step.case_id, "stage": step.stage, "hall": step.hall, "unit": step.unit,
                "at": step.at,
            })
        for complaint in self.complaints.tick(now_ms, int(self.config.web.hold_retry_s * 1000)):
            self.feed.publish("complaint", {"id": complaint, "overdue": True})
        return steps

    # --- commands down to the halls ---------------------------------------

    def send_command(self, hall: str, command: dict[str, Any]) -> None:
        """Publish on `central/<hall>/cmd`; the hall's gateway runs it or relays it to its device."""
        topic = gateway_link(hall).commands
        self.ingest.client.publish(topic, json.dumps(command, ensure_ascii=False), qos=1)
        log.info("sent %r to hall %s (%s)", command.get("command"), hall, command.get("device", "gateway"))
