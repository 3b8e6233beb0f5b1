"""China's official working-day calendar as lookup tables, and the yearly schedule files that extend it.

A working day is a weekday that is not a statutory holiday, or a weekend day
announced as a make-up workday (调休上班). The `chinesecalendar` package
carries the State Council's schedules for the years it knows; an operator adds
a later year by dropping its official schedule into a TOML file. A day of a
year nobody has described is *unknown*: questions that need it raise
`CalendarGap` instead of guessing.

Counting is by prefix sums over days, so "the n-th working day after d" is a
couple of list lookups whatever n is.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from central.cases.timebase import Day, date_from_day, day_from_date


class CalendarGap(LookupError):
    """The answer needs a day of a year the calendar does not cover."""

    def __init__(self, day: Day) -> None:
        super().__init__(f"the working-day calendar does not cover {date_from_day(day)}")
        self.day = day


class ScheduleFileError(ValueError):
    """A yearly schedule file that cannot be used; the message lists every problem."""


@dataclass(frozen=True)
class YearSchedule:
    """One year's official schedule: the statutory days off and the make-up workdays."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str = ""

    def is_workday(self, value: date) -> bool:
        if value in self.workdays:
            return True
        return value.weekday() < 5 and value not in self.holidays

    def digest(self) -> str:
        content = {
            "year": self.year,
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "workdays": sorted(d.isoformat() for d in self.workdays),
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _days_in(entries: Iterable[object], year: int, key: str, problems: list[str]) -> set[date]:
    """Expand `"2027-02-06"` and `"2027-02-06..2027-02-12"` entries, checking each is in `year`."""
    days: set[date] = set()
    for entry in entries:
        if not isinstance(entry, str):
            problems.append(f"{key}: {entry!r} is not a date string")
            continue
        first, _, last = entry.partition("..")
        try:
            start = date.fromisoformat(first.strip())
            end = date.fromisoformat(last.strip()) if last else start
        except ValueError:
            problems.append(f"{key}: {entry!r} is not YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD")
            continue
        if end < start:
            problems.append(f"{key}: {entry!r} ends before it starts")
            continue
        if start.year != year or end.year != year:
            problems.append(f"{key}: {entry!r} is not in {year}")
            continue
        while start <= end:
            days.add(start)
            start += timedelta(days=1)
    return days


def parse_schedule(data: Mapping[str, object], source: str) -> YearSchedule:
    """A year's schedule from the mapping of a schedule file; every problem is listed at once."""
    problems: list[str] = []
    year = data.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ScheduleFileError(f"{source}: `year` must be an integer like 2027, got {year!r}")
    unknown = set(data) - {"year", "source", "holidays", "workdays"}
    if unknown:
        problems.append(f"unknown keys {sorted(unknown)}; expected year, source, holidays, workdays")
    raw_holidays = data.get("holidays", [])
    raw_workdays = data.get("workdays", [])
    if not isinstance(raw_holidays, list) or not isinstance(raw_workdays, list):
        raise ScheduleFileError(f"{source}: `holidays` and `workdays` must be lists")
    holidays = _days_in(raw_holidays, year, "holidays", problems)
    workdays = _days_in(raw_workdays, year, "workdays", problems)
    for both in sorted(holidays & workdays):
        problems.append(f"{both} is listed both as a holiday and as a make-up workday")
    for weekday in sorted(d for d in workdays if d.weekday() < 5):
        problems.append(f"workdays: {weekday} is a weekday; make-up workdays are weekend days")
    if not holidays:
        problems.append("holidays: empty; an official schedule always has statutory holidays")
    if problems:
        raise ScheduleFileError(f"{source}: " + "; ".join(problems))
    label = data.get("source")
    return YearSchedule(year, frozenset(holidays), frozenset(workdays), str(label or source))


def load_schedule_file(path: Path) -> YearSchedule:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ScheduleFileError(f"{path}: {error}") from error
    return parse_schedule(data, str(path))


@cache
def _package_schedules() -> dict[int, YearSchedule]:
    from chinese_calendar import constants

    years: dict[int, tuple[set[date], set[date]]] = {}
    first = min(constants.holidays).year
    last = max(constants.holidays).year
    for year in range(first, last + 1):
        years[year] = (set(), set())
    for day in constants.holidays:
        years[day.year][0].add(day)
    for day in constants.workdays:
        years[day.year][1].add(day)
    return {
        year: YearSchedule(year, frozenset(h), frozenset(w), "chinesecalendar")
        for year, (h, w) in years.items()
    }


@dataclass(frozen=True)
class WorkCalendar:
    """Working days of the covered years, with prefix sums for constant-time counting."""

    schedules: Mapping[int, YearSchedule]
    _lo: Day = field(init=False, repr=False)
    _hi: Day = field(init=False, repr=False)
    _rank: list[int] = field(init=False, repr=False)
    _unknown: list[int] = field(init=False, repr=False)
    _workdays: list[Day] = field(init=False, repr=False)
    _unknown_days: list[Day] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        years = sorted(self.schedules)
        lo = day_from_date(date(years[0], 1, 1)) if years else 0
        hi = day_from_date(date(years[-1] + 1, 1, 1)) if years else 0
        rank = [0] * (hi - lo + 1)
        unknown = [0] * (hi - lo + 1)
        workdays: list[Day] = []
        unknown_days: list[Day] = []
        known = 0
        missing = 0
        for offset in range(hi - lo):
            day = lo + offset
            value = date_from_day(day)
            schedule = self.schedules.get(value.year)
            if schedule is None:
                missing += 1
                unknown_days.append(day)
            elif schedule.is_workday(value):
                known += 1
                workdays.append(day)
            rank[offset + 1] = known
            unknown[offset + 1] = missing
        # The tables are derived data of a frozen value: set them once, here.
        object.__setattr__(self, "_lo", lo)
        object.__setattr__(self, "_hi", hi)
        object.__setattr__(self, "_rank", rank)
        object.__setattr__(self, "_unknown", unknown)
        object.__setattr__(self, "_workdays", workdays)
        object.__setattr__(self, "_unknown_days", unknown_days)

    # -- what the calendar knows -------------------------------------------------------

    @property
    def years(self) -> list[int]:
        return sorted(self.schedules)

    def fingerprint(self) -> str:
        """Changes whenever any covered year's schedule changes or a year is added."""
        text = ",".join(f"{y}:{self.schedules[y].digest()}" for y in self.years)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def covers(self, day: Day) -> bool:
        return self._lo <= day < self._hi and date_from_day(day).year in self.schedules

    def is_workday(self, day: Day) -> bool:
        """Raises CalendarGap for a day of an uncovered year."""
        if not self.covers(day):
            raise CalendarGap(day)
        i = day - self._lo
        return self._rank[i + 1] > self._rank[i]

    def first_unknown_after(self, day: Day) -> Day:
        """The first uncovered day after `day`."""
        nxt = day + 1
        if nxt < self._lo or nxt >= self._hi:
            return nxt
        i = bisect_left(self._unknown_days, nxt)
        return self._unknown_days[i] if i < len(self._unknown_days) else self._hi

    # -- counting ----------------------------------------------------------------------

    def _prefix(self, table: list[int], day: Day) -> int:
        """table value for the half-open range [lo, day]: clamped outside the table."""
        i = day + 1 - self._lo
        if i <= 0:
            return 0
        return table[min(i, len(table) - 1)]

    def _check_known(self, after: Day, upto: Day) -> None:
        """Raise CalendarGap if any day in (after, upto] is uncovered."""
        if upto <= after:
            return
        if after + 1 < self._lo or upto >= self._hi:
            raise CalendarGap(self.first_unknown_after(after))
        if self._prefix(self._unknown, upto) != self._prefix(self._unknown, after):
            raise CalendarGap(self.first_unknown_after(after))

    def count(self, after: Day, upto: Day) -> int:
        """Working days in (after, upto]."""
        if upto <= after:
            return 0
        self._check_known(after, upto)
        return self._prefix(self._rank, upto) - self._prefix(self._rank, after)

    def nth_after(self, after: Day, n: int) -> Day:
        """The n-th working day after `after` (n >= 1)."""
        if n < 1:
            raise ValueError("n counts from 1")
        index = self._prefix(self._rank, after) + n - 1
        if after + 1 < self._lo or index >= len(self._workdays):
            raise CalendarGap(self.first_unknown_after(after))
        day = self._workdays[index]
        self._check_known(after, day)
        return day

    def tables(self) -> tuple[Day, list[int], list[int], list[Day]]:
        """(first day, working-day prefix, unknown-day prefix, working days): for hot loops."""
        return self._lo, self._rank, self._unknown, self._workdays

    def nth_each(self, after: Day, ns: list[int]) -> tuple[list[Day], Day | None]:
        """The n-th working day after `after` for each n (increasing, >= 1).

        Returns the days found and, if the calendar ran out first, the first
        uncovered day. The engine's hot path: a few list lookups per case.
        """
        lo = self._lo
        if after + 1 < lo:
            return [], after + 1
        i = after + 1 - lo
        if i >= len(self._rank):
            return [], self.first_unknown_after(after)
        base = self._rank[i] - 1
        unknown_base = self._unknown[i]
        workdays, unknown, last = self._workdays, self._unknown, len(self._workdays)
        days: list[Day] = []
        for n in ns:
            j = base + n
            if j >= last:
                return days, self.first_unknown_after(after)
            day = workdays[j]
            if unknown[day + 1 - lo] != unknown_base:
                return days, self.first_unknown_after(after)
            days.append(day)
        return days, None

    def nth_before(self, day: Day, n: int) -> Day:
        """The working day A with exactly n working days in (A, day]; n = 0 gives the last one <= day."""
        index = self._prefix(self._rank, day) - n - 1
        if index < 0 or not self.covers(day):
            raise CalendarGap(day)
        found = self._workdays[index]
        self._check_known(found, day)
        return found

    def next_workday_from(self, day: Day) -> Day:
        """`day` itself if it is a working day, else the next one."""
        return self.nth_after(day - 1, 1)



def package_schedules() -> dict[int, YearSchedule]:
    """The years the `chinesecalendar` package knows, as schedules."""
    return dict(_package_schedules())


@cache
def _package_calendar() -> WorkCalendar:
    return WorkCalendar(package_schedules())


def load_calendar(directory: Path | None = None) -> WorkCalendar:
    """The package's years, extended or overridden by every `*.toml` schedule file in `directory`."""
    files = sorted(directory.glob("*.toml")) if directory is not None and directory.is_dir() else []
    if not files:
        return _package_calendar()
    schedules = package_schedules()
    for path in files:
        schedule = load_schedule_file(path)
        schedules[schedule.year] = schedule
    return WorkCalendar(schedules)
