"""The public figures (公开数据): per department and month, what the seed says is published:
cases received, completed, completed on time, yellow and red cards; and the online bookings
(booked, checked in, no-shows)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date

from central.booking.store import BookingStore
from central.cases.store import CaseStore
from central.cases.timebase import day_from_date, midnight

Alone = Callable[[], AbstractContextManager[CaseStore]]


@dataclass(frozen=True)
class DepartmentMonth:
    department: str
    received: int = 0
    completed: int = 0
    on_time: int = 0
    yellow_cards: int = 0
    red_cards: int = 0
    booked: int = 0
    checked_in: int = 0
    no_shows: int = 0


def month_bounds(month: str) -> tuple[date, date]:
    """'2026-11' -> (2026-11-01, 2026-12-01)."""
    first = date.fromisoformat(f"{month}-01")
    after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, after


def recent_months(today: date, count: int = 12) -> list[str]:
    months, year, month = [], today.year, today.month
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


class PublicFigures:
    def __init__(self, cases: Alone | None, bookings: BookingStore | None) -> None:
        self.cases = cases
        self.bookings = bookings

    def month(self, month: str) -> list[DepartmentMonth]:
        first, after = month_bounds(month)
        rows: dict[str, dict[str, int]] = {}
        if self.cases is not None:
            since, until = midnight(day_from_date(first)), midnight(day_from_date(after))
            with self.cases() as store:
                figures = store.statistics(by="unit", since=since, until=until)
            for f in figures:
                if f.group is not None:
                    rows[f.group] = {"received": f.received, "completed": f.completed, "on_time": f.on_time,
                                     "yellow_cards": f.yellow_cards, "red_cards": f.red_cards}
        if self.bookings is not None:
            for department, states in self.bookings.figures(first.isoformat(), after.isoformat()).items():
                row = rows.setdefault(department, {})
                row["booked"] = sum(states.values())
                row["checked_in"] = states.get("checked_in", 0)
                row["no_shows"] = states.get("no_show", 0)
        return [DepartmentMonth(department, **values) for department, values in sorted(rows.items())]
