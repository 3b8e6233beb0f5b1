"""The citizens' platform at central (issue #15): SMS fed from the logs, online booking and the
public site. Wiring only: each part is built in the order it depends on the others and handed
the narrow callables it needs; `CentralService` holds one `Citizens` and drives its life cycle.

    case log, complaint log, follow-up log, booking log --SmsFeed--> SmsPlatform --> modem
    public site --> BookingDesk --> booking log + the hall's list (queue.appointments)
    kiosk's ticket with a code --BookingCheckIns--> checked in; no ticket by the day's end: no-show
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import FastAPI

from central.appointments import HallAppointments
from central.booking.checkins import BookingCheckIns
from central.booking.desk import BookingDesk
from central.booking.lists import BookingCodes
from central.booking.retention import BookingRetention
from central.booking.store import BookingStore
from central.cases.calendar import WorkCalendar
from central.cases.database import case_store_at
from central.cases.timebase import day_from_date
from central.complaints import ComplaintDesk
from central.config import CentralConfig
from central.guide import MatterGuide, load_guide
from central.public.attempts import AttemptLog
from central.public.figures import PublicFigures
from central.public.gate import FormGate
from central.public.pages import mount
from central.public.progress import ProgressDesk
from central.public.site import PublicSite
from central.sms import SmsPlatform
from central.sms.move import refuse_sms_left_behind
from central.sms_feed import CentralPhoneBook, SmsFeed
from central.sms_feed.bookings import BookingFacts
from central.sms_feed.cases import Alone, CaseFacts
from central.sms_feed.complaints import ComplaintFacts
from central.sms_feed.cursor import FeedCursors
from central.sms_feed.facts import FactSource
from central.sms_feed.followups import FollowUpFacts
from central.store import CentralHandler, CentralStore
from spine.clock import Clock

log = logging.getLogger(__name__)

CompleteUntil = Callable[[str], "int | None"]
"""hall -> how far its facts are known complete at central, ms (None: never heard from)."""
ATTEMPTS_SWEEP_MS = 3_600_000


class Citizens:
    def __init__(self, config: CentralConfig, *, store: CentralStore, cases: Alone | None,
                 complaints: ComplaintDesk, appointments: HallAppointments, clock: Clock,
                 calendar: WorkCalendar, complete_until: CompleteUntil,
                 hall_names: dict[str, str]) -> None:
        self.config = config
        self.clock = clock
        self.complete_until = complete_until
        self.guide: MatterGuide = load_guide(config.public.guide)
        alone = cases

        def hall_name(hall: str) -> str:
            return self.guide.halls[hall].name if hall in self.guide.halls else hall_names.get(hall, hall)

        self.bookings = BookingStore(store, code_digits=config.booking.code_digits)
        self.checkins = BookingCheckIns(self.bookings)
        self.retention = BookingRetention(self.bookings)

        # SMS: only with an [sms] section (without one nothing pretends to send).
        self.sms: SmsPlatform | None = None
        self.feed: SmsFeed | None = None
        self._case_facts: CaseFacts | None = None
        if config.sms is not None:
            # On PostgreSQL the outbox is central's database, shared by every process's worker (so
            # `[sms]` may go to each); beside a SQLite central it is the data directory's sms.sqlite.
            shared = None if config.event_store.is_sqlite else config.event_store
            if shared is not None:
                # Before the outbox opens (and makes a phone key): an opt-out still in the file
                # this process used before would be lost, and the citizen messaged again.
                refuse_sms_left_behind(config.sms_settings.store, shared)
            self.sms = SmsPlatform(config.sms_settings, clock=clock,
                                   phone_book=CentralPhoneBook(alone, config.sms_feed.unit_phones),
                                   store=shared, process=config.id)
            sources: list[FactSource] = []
            if cases is not None:
                self._case_facts = CaseFacts(case_store_at(config.event_store, config.cases_path), cases)
                sources.append(self._case_facts)
            sources += [ComplaintFacts(store, complaints.contact),
                        BookingFacts(self.bookings, hall_name)]
            if config.sms_feed.unit_phones:
                sources.append(FollowUpFacts(store))
            self.feed = SmsFeed(self.sms.notify, sources, FeedCursors(store), config.sms_feed, clock)

        booking = config.booking
        appointments.add(BookingCodes(self.bookings, early_ms=booking.arrive_early_minutes * 60_000,
                                      late_ms=booking.late_minutes * 60_000))
        self.lists = appointments
        self.desk: BookingDesk | None = None
        if booking.enabled:
            self.desk = BookingDesk(booking, self.guide, self.bookings, self.lists, clock,
                                    is_workday=_workdays(calendar) if booking.open_on == "workdays"
                                    else _every_day,
                                    wake=self.feed.wake if self.feed is not None else _nothing)

        attempts = AttemptLog(store)
        self.attempts = attempts
        self.site = PublicSite(
            settings=config.public, guide=self.guide,
            progress=ProgressDesk(alone, attempts, config.public, clock, hall_name),
            figures=PublicFigures(alone, self.bookings), attempts=attempts,
            gate=FormGate(attempts, config.public, clock), clock=clock, booking=self.desk)
        self._attempts_swept_ms = 0

    @property
    def handlers(self) -> tuple[CentralHandler, ...]:
        """Handlers of central's event store: the kiosks' check-ins."""
        return (self.checkins,)

    def mount(self, app: FastAPI) -> None:
        if self.config.public.enabled:
            mount(app, self.site)

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self.sms is not None and self.feed is not None:
            self.sms.start()
            self.feed.start()

    def stop(self) -> None:
        if self.feed is not None:
            self.feed.stop()
        if self.sms is not None:
            self.sms.stop()
        if self._case_facts is not None:
            self._case_facts.close()

    def hall_status(self, hall: str, online: bool) -> None:
        """A hall's gateway said it is online (after each connect, and retained): its lists again."""
        if not online or self.desk is None:
            return
        try:
            self.desk.hall_online(hall)
        except Exception:  # the next connect sends them again
            log.exception("booking lists for hall %s not sent", hall)

    def tick(self, now_ms: int) -> None:
        """Count the no-shows the halls' facts allow, and forget attempts past their keeping."""
        if self.desk is not None:
            self.desk.tick(self.complete_until)
        if now_ms >= self._attempts_swept_ms:
            self._attempts_swept_ms = now_ms + ATTEMPTS_SWEEP_MS
            self.attempts.forget_before(now_ms - self.config.public.attempts_kept_days * 86_400_000)

    def diagnostics(self) -> dict[str, Any]:
        return {"sms": self.sms.diagnostics() if self.sms is not None else None,
                "sms_feed": self.feed.diagnostics() if self.feed is not None else None}


def _workdays(calendar: WorkCalendar) -> Callable[[date], bool]:
    """Working days by the countdown's calendar; beyond its years, Monday to Friday."""

    def is_workday(day: date) -> bool:
        value = day_from_date(day)
        return calendar.is_workday(value) if calendar.covers(value) else day.weekday() < 5

    return is_workday


def _every_day(day: date) -> bool:
    return True


def _nothing() -> None:
    return None
