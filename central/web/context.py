"""Everything the HTTP side reads from: one object, set on the app by the central service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from central.complaints import ComplaintDesk
from central.store import CentralStore
from central.web.caseport import CaseBoard, NoCases
from central.web.feed import ChangeFeed
from spine.clock import Clock


class RatingSource(Protocol):
    def by(self, group: str, since_ms: int | None) -> dict[str, dict[str, int]]:
        """group (unit, window, officer) -> key -> {ratings, satisfied, bad, bad_rectified}."""
        ...


HallFigures = Callable[[str, int], dict[str, Any]]
"""(hall, now ms) -> today's figures of one kind (queues, ratings) as a flat dict of numbers."""


@dataclass
class CentralContext:
    store: CentralStore
    clock: Clock
    complaints: ComplaintDesk
    feed: ChangeFeed
    cases: CaseBoard = field(default_factory=NoCases)
    queue_today: HallFigures | None = None
    ratings_today: HallFigures | None = None
    ratings: RatingSource | None = None
    hall_names: dict[str, str] = field(default_factory=dict)
    """hall id -> its name on the big screen (服务中心, 分中心...)."""
