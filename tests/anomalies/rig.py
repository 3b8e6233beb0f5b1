"""Central's files as the anomaly rules see them, on a hand-driven clock: a case store, an event store
with its halls' watermarks, the complaint desk, and the supervision office over them (no broker)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from central.anomalies.book import AnomalyBook
from central.appointments import HallAppointments
from central.cases.engine import Engine
from central.cases.timebase import parse_instant
from central.complaints import ComplaintDesk, NewComplaint
from central.complaints.settings import ComplaintSettings
from central.deadlines import WorkingDays
from central.hall_watermarks import HallWatermarks
from central.personal.events import SealingEventStore
from central.supervision import SupervisionOffice, open_office
from central.supervision_settings import SupervisionSettings
from spine.clock import SimulatedClock
from spine.storeurl import StoreUrl
from tests.cases.conftest import entry
from tests.central.events import deliver

HALL = "hall-01"
DAY_MS = 86_400_000


def ms(text: str) -> int:
    """An instant of the hall (`2026-11-23T10:00`, Shanghai) in ms."""
    return parse_instant(text) * 1000


class Rig:
    def __init__(self, root: Path, start: str = "2026-11-23T10:05", *, database: StoreUrl | None = None,
                 **settings: Any) -> None:
        """`database`: central's PostgreSQL database (migrated), holding the events, the cases and the
        office's records, as `hall central run` keeps them there; None: the files in `root`."""
        self.root = root
        self.database = database
        self.clock = SimulatedClock(wall_ms=ms(start))
        self.engine = Engine.open(database or root / "cases.sqlite",
                                  clock=lambda: self.clock.wall_ms() / 1000)
        self.cases = self.engine.store
        self.events = SealingEventStore(database or root / "events.sqlite", self.clock)
        self.watermarks = HallWatermarks(self.events, self.clock, behind_after_s=120)
        self.events.handlers.append(self.watermarks)
        self.complaints = ComplaintDesk(
            self.events, ComplaintSettings(), working_days=WorkingDays(self.cases.calendar),
            send=lambda _hall, _command: None, recorders=lambda _hall: ["recorder-1"])
        self.complaints.install(self.events)
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.settings = SupervisionSettings.model_validate(settings)
        self.office = self.open()

    def open(self) -> SupervisionOffice:
        return open_office(
            self.settings, self.database or self.root / "supervision.sqlite",
            events=self.events if self.database else self.root / "events.sqlite",
            cases=self.database or self.root / "cases.sqlite", calendar=self.cases.calendar,
            ladder=self.cases.rules.ladder,
            grace_s=self.cases.rules.watermark.grace_s, clock=self.clock.wall_ms,
            appointments=HallAppointments(lambda hall, command: self.sent.append((hall, command))),
            publish=lambda kind, data: self.published.append((kind, data)))

    def reopen(self) -> None:
        """Central restarted: the office reads on from where it stopped."""
        self.office.close()
        self.office = self.open()

    @property
    def book(self) -> AnomalyBook:
        return self.office.anomalies

    def at(self, text: str) -> int:
        self.clock.set_wall(ms(text))
        return self.clock.wall_ms()

    def hall_complete_until(self, text: str) -> None:
        """The hall's gateway reports an empty outbox at that instant (its heartbeat)."""
        self.watermarks.heartbeat(HALL, {"at": ms(text), "outbox_events": 0})

    def tick(self) -> list[str]:
        """One tick of the rules at the clock; the ids of the anomalies it raised."""
        return [raised.id for raised in self.office.tick(self.clock.wall_ms())]

    def hits(self, rule: str) -> list[dict[str, Any]]:
        return self.book.find(rule=rule)

    # --- facts ---------------------------------------------------------------------------------

    def case(self, case_id: str, **changes: Any) -> int:
        """Enter a case (stated as it happens); its acceptance's log seq."""
        recorded = self.cases.submit(entry(case_id, **changes))
        assert recorded.seq is not None
        return recorded.seq

    def fact(self, kind: str, case_id: str, at: str, by: str = "李四", **body: Any) -> int | None:
        return self.cases.record(kind, {"case_id": case_id, "by": by, "at": at, **body}).seq

    def hall_events(self, events: list[tuple[str, dict[str, Any], int]], **author: Any) -> None:
        """The hall's gateway forwards these (type, body, at ms) in one batch."""
        deliver(self.events, HALL, events, **author)

    def complaint(self, window: str, visit: str) -> str:
        return self.complaints.receive(NewComplaint(hall=HALL, summary="窗口人员离岗", window=window,
                                                    visit_time=ms(visit)), "office")

    def close(self) -> None:
        self.office.close()
        self.events.close()
        self.engine.close()
