"""The booking desk: what the public site asks of online booking, in the order a citizen asks it.

department -> matter -> window officer (the guide says who sits where) -> a
day and a free slot (`slots`, from `[booking]` and what is taken) -> a code.
A booking or cancellation is committed first; then the hall's list for that
day goes out and the SMS feed is woken (it follows the booking log).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from central.appointments import HallAppointments
from central.booking.settings import BookingSettings
from central.booking.slots import HALL_TIME, Offer, booking_days, offers, slot_named
from central.booking.store import BookingProblem, BookingRow, BookingStore, Limits, NewBooking
from central.guide import Matter, MatterGuide, OfficerDesk, Place
from contract.events.queue import PHONE
from contract.privacy import mask_phone, normalize_phone
from spine.clock import Clock

log = logging.getLogger(__name__)

_MOBILE = re.compile(PHONE)

BookingRefused = BookingProblem
"""Why a booking step was refused, in the words the citizen reads."""


@dataclass(frozen=True)
class Receipt:
    """A booking as its citizen is shown it."""

    code: str
    hall: str
    hall_name: str
    day: str
    slot: str
    department: str
    matter: str
    officer_name: str
    window: str
    state: str


@dataclass(frozen=True)
class Choice:
    """One officer to book for a matter at a place."""

    matter: Matter
    place: Place
    officer: OfficerDesk


class BookingDesk:
    def __init__(self, settings: BookingSettings, guide: MatterGuide, store: BookingStore,
                 lists: HallAppointments, clock: Clock, *, is_workday: Callable[[date], bool],
                 wake: Callable[[], None] = lambda: None) -> None:
        self.settings = settings
        self.guide = guide
        self.store = store
        self.lists = lists
        self.clock = clock
        self.is_workday = is_workday
        self.wake = wake

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.wall_ms() / 1000, HALL_TIME)

    # --- choosing ---------------------------------------------------------------------

    def departments(self) -> list[str]:
        """Departments with at least one matter that can be booked."""
        return list(dict.fromkeys(department.name for department, _m, _p in self.guide.bookable()))

    def matters(self, department: str) -> list[Matter]:
        return list({m.id: m for d, m, _p in self.guide.bookable() if d.name == department}.values())

    def choice(self, matter_id: str, hall: str, officer_id: str) -> Choice:
        found = self.guide.matter(matter_id)
        place = found[1].place_in(hall) if found else None
        officer = next((o for o in place.officers if o.id == officer_id), None) if place else None
        if found is None or place is None or officer is None:
            raise BookingRefused("该事项、大厅或窗口人员不可预约")
        return Choice(found[1], place, officer)

    def days(self) -> list[date]:
        return booking_days(self.now().date(), self.settings.days_ahead, self.is_workday)

    def offers(self, choice: Choice, day: date) -> list[Offer]:
        if day not in self.days():
            return []
        taken = self.store.taken(choice.place.hall, choice.officer.id, day.isoformat())
        return offers(self.settings.hours_of(choice.place.hall), day, self.now(),
                      lead_minutes=self.settings.lead_minutes, taken=taken,
                      taken_today=sum(taken.values()))

    # --- booking and cancelling ---------------------------------------------------------

    def book(self, choice: Choice, day: date, slot_label: str, phone: str) -> Receipt:
        number = normalize_phone(phone)
        if len(number) == 13 and number.startswith("86"):
            number = number[2:]
        if not _is_mobile(number):
            raise BookingRefused("请填写11位手机号码，用于接收预约短信")
        hall = choice.place.hall
        hours = self.settings.hours_of(hall)
        slot = slot_named(hours, slot_label)
        if slot is None or not any(o.slot == slot for o in self.offers(choice, day)):
            raise BookingRefused("该时段已约满或已过预约时间，请选择其他时段")
        department = next(d.name for d, m in self.guide.matters() if m.id == choice.matter.id)
        new = NewBooking(
            hall=hall, day=day.isoformat(), slot=slot.label,
            starts_at=int(slot.starts_on(day).timestamp() * 1000),
            ends_at=int(slot.ends_on(day).timestamp() * 1000), department=department,
            matter_id=choice.matter.id, matter=choice.matter.name, service=choice.place.service,
            officer=choice.officer.id, officer_name=choice.officer.name, window=choice.officer.window,
            phone=number)
        limits = Limits(hours.per_slot, hours.per_day, self.settings.per_phone_per_day)
        code = self.store.book(new, limits, self.clock.wall_ms())
        log.info("booking %s: %s at %s %s %s, officer %s, phone %s", code, choice.matter.id, hall,
                 new.day, new.slot, choice.officer.id, mask_phone(number))
        self._changed(hall, new.day)
        return self.receipt(code)

    def cancel(self, code: str, phone_tail: str) -> Receipt:
        row = self.store.cancel(code.strip(), phone_tail.strip(), self.clock.wall_ms())
        log.info("booking %s cancelled by its citizen", row.code)
        self._changed(row.hall, row.day)
        return self._receipt(row)

    def _changed(self, hall: str, day: str) -> None:
        self.wake()
        try:
            self.lists.send_day(hall, day)
        except Exception:  # the hall gets the list when its gateway next comes online
            log.exception("booking list of %s for %s not sent now", hall, day)

    def receipt(self, code: str) -> Receipt:
        row = self.store.get(code)
        if row is None:
            raise BookingRefused("没有这个预约码")
        return self._receipt(row)

    def _receipt(self, row: BookingRow) -> Receipt:
        return Receipt(row.code, row.hall, self.guide.hall_name(row.hall), row.day, row.slot,
                       row.department, row.matter, row.officer_name, row.window, row.state)

    # --- the hall and the clock -----------------------------------------------------------

    def hall_online(self, hall: str) -> None:
        """The hall's gateway (re)connected: it gets every list from today on."""
        self.lists.send_all(hall, self.now().date().isoformat())

    def tick(self, complete_until: Callable[[str], int | None]) -> list[str]:
        """Count the no-shows of past days whose hall's facts are known complete."""
        missed = self.store.count_no_shows(self.now().date().isoformat(), complete_until,
                                           self.clock.wall_ms())
        if missed:
            log.info("%d booking(s) not checked in counted as no-shows", len(missed))
        return missed


def _is_mobile(number: str) -> bool:
    return _MOBILE.match(number) is not None
