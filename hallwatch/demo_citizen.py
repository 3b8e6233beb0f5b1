"""One citizen's story in `hall demo`: booked online, checked in at a kiosk with the code, the case
accepted and completed, each step told by SMS (the simulated sender) and shown on the public
progress page.

It runs beside the demo's random citizens: the booking goes to officer 101 at
window 1, whom the demo's officer thread logs in; the booked ticket is the one
he calls first. The case is entered through the case store's own door, as the
window's approval system would. `summary()` says what the citizen saw.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from central.booking import BookingRefused
from central.cases.timebase import format_instant
from central.service import CentralService
from edge.queue_kiosk.demo import DemoQueue
from edge.queue_kiosk.kiosk import Issued

log = logging.getLogger(__name__)

HALL, MATTER, OFFICER = "hall-01", "scjg-spjy", "101"
PHONE = "13900009999"
CASE = "DEMO-STORY-0001"


@dataclass
class CitizenStory:
    central: CentralService
    queue: DemoQueue | None
    stop_event: threading.Event = field(default_factory=threading.Event)
    steps: list[str] = field(default_factory=list)
    code: str | None = None
    ticket: str | None = None
    thread: threading.Thread | None = None

    def start(self) -> CitizenStory:
        self.thread = threading.Thread(target=self._run, name="demo-citizen", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(10)

    def summary(self) -> dict[str, Any]:
        sms = self.central.citizens.sms
        texts = [m.text for m in reversed(sms.messages(limit=500)) if m.phone.endswith(PHONE[-4:])] \
            if sms is not None else []
        return {"booking_code": self.code, "ticket": self.ticket, "case": CASE,
                "progress_query": {"case_id": CASE, "phone_last_four": PHONE[-4:]},
                "steps": self.steps, "sms_received": texts}

    def _say(self, step: str) -> None:
        self.steps.append(step)
        log.info("demo citizen: %s", step)

    def _run(self) -> None:
        try:
            self._story()
        except Exception:  # the demo goes on without its story
            log.exception("demo citizen: the story stopped")

    def _story(self) -> None:
        desk = self.central.citizens.desk
        if desk is None:
            return
        choice = desk.choice(MATTER, HALL, OFFICER)
        offer = next(((day, o) for day in desk.days() for o in desk.offers(choice, day)), None)
        if offer is None:
            self._say("no slot left to book")
            return
        day, slot = offer
        try:
            self.code = desk.book(choice, day, slot.slot.label, PHONE).code
        except BookingRefused as refused:
            self._say(f"booking refused: {refused}")
            return
        self._say(f"booked {MATTER} with officer {OFFICER} on {day} {slot.slot.label}: code {self.code}")
        kiosk = self.queue.kiosks[0] if self.queue is not None and self.queue.kiosks else None
        if kiosk is None or not self._wait(lambda: kiosk.store.appointment(self.code or "") is not None, 60):
            self._say("the booking did not reach the kiosk")
            return
        issued = kiosk.redeem(self.code)
        if not isinstance(issued, Issued):
            self._say(f"the kiosk refused the code: {issued.detail}")
            return
        self.ticket = issued.label
        self._say(f"checked in at the kiosk: ticket {issued.label}, called first by officer {OFFICER}")
        if not self._wait(lambda: self._state() == "checked_in", 60) or self.stop_event.wait(2):
            return
        self._case("case.accepted", {
            "hall": HALL, "unit": "市场监管局", "window": "1", "matter": "食品经营许可",
            "project_category": "许可", "project_attribute": "承诺件", "contact_name": "王先生",
            "contact_phone": PHONE, "officer_name": "王小明", "officer_id": OFFICER,
            "officer_phone": "13900000101", "applied_at": self._at(-120), "accepted_at": self._at(0),
            "limit": 20})
        self._say(f"case {CASE} accepted at window 1: SMS sent, the progress page says 已受理")
        if self.stop_event.wait(6):
            return
        self._case("case.completed", {"at": self._at(0)})
        self._say(f"case {CASE} completed: SMS sent, the progress page says 已办结")

    def _case(self, kind: str, body: dict[str, Any]) -> None:
        cases = self.central.engine_cases
        if cases is not None:
            cases.record(kind, {"case_id": CASE, "by": OFFICER, **body})

    def _at(self, offset_s: int) -> str:
        return format_instant(self.central.clock.wall_ms() // 1000 + offset_s)

    def _state(self) -> str | None:
        found = self.central.citizens.bookings.get(self.code or "")
        return found.state if found is not None else None

    def _wait(self, condition: Any, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline or self.stop_event.wait(0.5):
                return False
        return True


def start_citizen_story(central: CentralService, queue: DemoQueue | None) -> CitizenStory:
    return CitizenStory(central, queue).start()
