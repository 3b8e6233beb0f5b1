"""The hall's calendar as a kiosk sees it: which local day a ticket belongs to, and opening hours.

Pure: it is given wall-clock times; it never reads a clock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from edge.queue_kiosk.config import HallSettings, ServiceSettings, parse_spans


class HallCalendar:
    def __init__(self, hall: HallSettings) -> None:
        self.zone = ZoneInfo(hall.timezone)
        self.spans = parse_spans(hall.hours)
        self.open_days = frozenset(hall.open_days)

    def local(self, wall_ms: int) -> datetime:
        return datetime.fromtimestamp(wall_ms / 1000, UTC).astimezone(self.zone)

    def day_of(self, wall_ms: int) -> str:
        """The hall's local date, 'YYYY-MM-DD': numbering restarts with each one."""
        return self.local(wall_ms).date().isoformat()

    def is_open(self, wall_ms: int, service: ServiceSettings | None = None) -> bool:
        moment = self.local(wall_ms)
        if moment.isoweekday() not in self.open_days:
            return False
        spans = parse_spans(service.hours) if service and service.hours is not None else self.spans
        now = moment.time()
        return any(start <= now < end for start, end in spans)

    def clock_text(self, wall_ms: int) -> str:
        return self.local(wall_ms).strftime("%Y-%m-%d %H:%M")


def later_day(a: str, b: str | None) -> str:
    """ISO dates compare as text; the later of the two."""
    return a if b is None or a >= b else b
