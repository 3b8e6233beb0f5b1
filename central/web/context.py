"""Everything the HTTP side reads from: one object, built by the central service and set on the app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from central.complaints import ComplaintDesk
from central.hall_watermarks import HallCompleteness
from central.ratings import RatingBook
from central.store import CentralStore
from central.supervision import SupervisionOffice
from central.web.caseport import CaseBoard, CaseIntake, NoCases
from central.web.feed import ScreenFeed
from central.web.screen import ScreenParts
from spine.clock import Clock

HallFigures = Callable[[str, int], dict[str, Any]]
"""(hall, now ms) -> today's figures of one kind (queues, ratings) as a flat dict of numbers."""


class EveryHallFigures(Protocol):
    """`HallFigures` that also gives every hall's at once (`central.web.hallfigures.QueueToday`):
    a board of a province's halls asks once, not once per hall."""

    def __call__(self, hall: str, now_ms: int) -> dict[str, Any]: ...
    def every_hall(self, now_ms: int) -> dict[str, dict[str, Any]]: ...


@dataclass
class CentralContext:
    store: CentralStore
    clock: Clock
    complaints: ComplaintDesk
    feed: ScreenFeed
    cases: CaseBoard = field(default_factory=NoCases)
    case_intake: CaseIntake | None = None
    """Where entries and facts of cases go; None: this central runs no case engine."""
    queue_today: EveryHallFigures | None = None
    ratings: RatingBook | None = None
    hall_names: dict[str, str] = field(default_factory=dict)
    """hall id -> its name on the big screen (服务中心, 分中心...)."""
    hall_completeness: Callable[[str, int], HallCompleteness] | None = None
    """(hall, now ms) -> how far its data are known ("data incomplete since ...")."""
    supervision: SupervisionOffice | None = None
    """Anomalies, discretionary standards and major projects (docs/supervision.md)."""
    screen: ScreenParts = field(default_factory=ScreenParts)
    """The big screen's case tally, its anomaly and project slots (`central.web.screen.parts`)."""
