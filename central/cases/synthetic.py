"""A synthetic year of case history, and what a day-by-day reading of the rules says of it.

For the import benchmark (`bench/case_import.py`) and the tests that load a
history two ways (by import, and fact by fact at each fact's own instant) and
hold both to the same reference. Nothing in the service uses it.

The reference (`read_by_the_rules`) shares nothing with the engine but the
calendar data: it walks day by day (`central.cases.naive`) over each case's
final facts, and applies the rules as the issue states them: an escalation
falls due at the start of its stage unless the clock was stopped
(completion confirmed, or a suspension still open) before that instant.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from central.cases.calendar import WorkCalendar
from central.cases.countdown import CaseClock, Suspension
from central.cases.naive import naive_schedule
from central.cases.stages import LADDER, Limit, LimitUnit, Stage
from central.cases.timebase import (
    Day,
    Instant,
    date_from_day,
    day_from_date,
    day_of,
    format_instant,
    midnight,
    parse_instant,
)

UNTIL = parse_instant("2026-11-30T12:00")
"""The seed's figures are read up to here (`stats --until 2026-11-30T12:00`)."""

UNITS = (
    "民政局", "人社局", "市场监管局", "住建局", "自然资源局", "公安局", "卫健委", "教育局",
    "交通运输局", "农业农村局", "水务局", "生态环境局", "商务局", "文旅局", "税务局", "医保局",
    "退役军人事务局", "应急管理局", "林草局", "司法局", "统计局", "发改委", "工信局", "财政局",
    "审计局", "城管局", "气象局", "残联", "公积金中心", "不动产登记中心",
)
# (matter, limit, unit): the usual limits, a calendar-day one and a two-month commitment item.
MATTERS = (
    ("老年人优待证", 2, "months"), ("社会保险登记", 5, "workdays"), ("食品经营许可", 10, "workdays"),
    ("建筑工程施工许可", 20, "workdays"), ("户外广告设置许可", 15, "workdays"),
    ("户籍迁移", 7, "workdays"), ("公共场所卫生许可", 30, "days"),
)
REASONS = ("hearing", "expert_review", "inspection", "testing")
_MINUTE, _HOUR = 60, 3600


@dataclass(frozen=True)
class HistoryShape:
    """How many cases of each kind; the defaults are the size of the seed's trial year."""

    cases: int = 51_055
    completed: int = 49_402
    """Done and confirmed before `until`."""
    suspended: int = 573
    """Of the completed: suspended once for a legal reason, resumed, then done."""
    late: int = 5
    """Of the completed: done after the due day (the rules give them cards)."""
    slow_confirmation: int = 2
    """Of the completed: done in time, confirmed days later (the light ran until then)."""
    overdue_open: int = 1
    """Still open at `until`, past the due day."""
    halls: int = 8
    first_day: date = date(2026, 1, 5)
    until: Instant = UNTIL
    seed: int = 2026

    def __post_init__(self) -> None:
        if self.completed + 2 > self.cases:
            raise ValueError("room is needed for the two open oddities")
        if self.suspended + self.late + self.slow_confirmation > self.completed:
            raise ValueError("suspended, late and slow cases are among the completed")


@dataclass(frozen=True)
class Fact:
    """One line of the history: a case entry (`case.accepted`) or another fact, at its instant."""

    at: Instant
    kind: str
    body: dict[str, Any]

    def line(self) -> str:
        """The JSON Lines form `hall central import` reads."""
        data = self.body if self.kind == "case.accepted" else {"type": self.kind, "body": self.body}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class HistoryCase:
    case_id: str
    hall: str
    unit: str
    clock: CaseClock
    """The case's final facts, for the reference reading."""
    facts: tuple[Fact, ...]


@dataclass(frozen=True)
class History:
    shape: HistoryShape
    cases: list[HistoryCase]

    def facts(self) -> list[Fact]:
        """Every fact in the order they happened (an export of the approval system's log)."""
        return sorted((fact for case in self.cases for fact in case.facts), key=lambda f: f.at)

    def lines(self) -> Iterator[str]:
        for fact in self.facts():
            yield fact.line()


def generate(shape: HistoryShape, calendar: WorkCalendar) -> History:
    """A deterministic history of `shape.cases` cases accepted on working days from `first_day`."""
    rng = random.Random(shape.seed)
    kinds = _kinds(shape)
    rng.shuffle(kinds)
    maker = _Maker(shape, calendar, rng)
    return History(shape, [maker.case(i, kind) for i, kind in enumerate(kinds)])


def _kinds(shape: HistoryShape) -> list[str]:
    plain = shape.completed - shape.suspended - shape.late - shape.slow_confirmation
    open_cases = shape.cases - shape.completed - 2 - shape.overdue_open
    return (["done"] * plain + ["suspended"] * shape.suspended + ["late"] * shape.late
            + ["slow"] * shape.slow_confirmation + ["open"] * open_cases
            + ["overdue"] * shape.overdue_open + ["still_suspended", "unconfirmed"])


@dataclass
class _Maker:
    shape: HistoryShape
    calendar: WorkCalendar
    rng: random.Random
    _until_day: Day = field(init=False)

    def __post_init__(self) -> None:
        self._until_day = day_of(self.shape.until)

    def case(self, i: int, kind: str) -> HistoryCase:
        rng, calendar = self.rng, self.calendar
        unit_index = rng.randrange(len(UNITS))
        matter, amount, unit = MATTERS[unit_index % len(MATTERS)]
        if kind in ("late", "slow", "overdue") and unit != "workdays":
            matter, amount, unit = MATTERS[1 + rng.randrange(5)]  # a working-day limit
        budget = amount if unit == "workdays" else 15  # working days a case may take on time
        if kind in ("done", "suspended", "late", "slow"):
            last = calendar.nth_before(self._until_day, 60)
            first = calendar.next_workday_from(day_from_date(self.shape.first_day))
            accepted_day = calendar.nth_after(first - 1, 1 + rng.randrange(
                calendar.count(first - 1, last)))
        elif kind == "overdue":
            accepted_day = calendar.nth_before(self._until_day, budget + 2)
        else:
            accepted_day = calendar.nth_before(self._until_day, 1 + rng.randrange(max(1, budget - 2)))
        accepted = midnight(accepted_day) + 8 * _HOUR + 30 * _MINUTE + rng.randrange(8 * _HOUR)
        hall = f"hall-{i % self.shape.halls + 1:02d}"
        case_id = f"HW-2026-{i + 1:06d}"
        officer = f"officer-{unit_index:02d}{rng.randrange(6)}"
        entry = {
            "case_id": case_id, "by": f"{hall}-w{unit_index % 12 + 1:02d}", "hall": hall,
            "unit": UNITS[unit_index], "window": f"w{unit_index % 12 + 1:02d}", "matter": matter,
            "project_category": "许可", "project_attribute": "承诺件",
            "contact_name": f"市民{i % 997}", "contact_phone": f"138{i:08d}",
            "officer_name": officer, "officer_phone": f"139{unit_index:04d}{i % 10000:04d}",
            "applied_at": format_instant(accepted - rng.randrange(10 * _MINUTE, 2 * 86400)),
            "accepted_at": format_instant(accepted), "limit": amount, "limit_unit": unit,
        }
        facts = [Fact(accepted, "case.accepted", entry)]
        holds: list[Suspension] = []

        def fact(at: Instant, kind: str, **extra: Any) -> Instant:
            facts.append(Fact(at, kind, {"case_id": case_id, "by": officer,
                                         "at": format_instant(at), **extra}))
            return at

        if kind == "late":
            j = budget + 1 + rng.randrange(4)
        elif kind in ("open", "overdue", "still_suspended", "unconfirmed"):
            j = 0
        else:
            j = rng.randrange(budget + 1)
        done = self._on_working_day(accepted_day, j, accepted)
        if kind in ("suspended", "still_suspended"):
            if kind == "suspended":
                start = self._on_working_day(accepted_day, max(1, j // 2), accepted)
                start = max(min(start, done - _HOUR), accepted + _MINUTE)
            else:  # on the day of acceptance, which is before `until`
                start = accepted + rng.randrange(_HOUR, 5 * _HOUR)
            fact(start, "case.suspended", reason=rng.choice(REASONS))
            if kind == "still_suspended":
                holds.append(Suspension(start, None))
            else:
                end = start + rng.randrange(2 * _HOUR, 10 * 86400)
                holds.append(Suspension(start, fact(end, "case.resumed")))
                done = max(done, end) + rng.randrange(30 * _MINUTE, 86400)
        completed = confirmed = None
        if kind in ("done", "suspended", "late", "slow", "unconfirmed"):
            completed = fact(done, "case.completed")
        if kind == "slow":
            later = calendar.nth_after(day_of(done), 2 + rng.randrange(5))
            confirmed = fact(midnight(later) + 9 * _HOUR + rng.randrange(8 * _HOUR),
                             "case.completion_confirmed")
        elif completed is not None and kind != "unconfirmed":
            confirmed = fact(done + rng.randrange(5 * _MINUTE, 3 * _HOUR),
                             "case.completion_confirmed")
        clock = CaseClock(accepted, Limit(amount, LimitUnit(unit)), tuple(holds), completed,
                          confirmed)
        if any(f.at > self.shape.until for f in facts):
            raise AssertionError(f"{case_id}: a fact after {format_instant(self.shape.until)}")
        return HistoryCase(case_id, hall, UNITS[unit_index], clock, tuple(facts))

    def _on_working_day(self, accepted_day: Day, j: int, accepted: Instant) -> Instant:
        """An instant during office hours of the j-th working day after acceptance (0: that day)."""
        if j == 0:
            return accepted + self.rng.randrange(10 * _MINUTE, 3 * _HOUR)
        day = self.calendar.nth_after(accepted_day, j)
        return midnight(day) + 8 * _HOUR + 30 * _MINUTE + self.rng.randrange(9 * _HOUR)


# -- the reference reading ------------------------------------------------------------

ESCALATIONS = (Stage.YELLOW_CARD, Stage.RED_CARD, Stage.SUPERVISION_LETTER)


@dataclass(frozen=True)
class Reading:
    """A case as the rules read it at `until`."""

    case_id: str
    hall: str
    unit: str
    accepted_at: Instant
    completed_at: Instant | None
    confirmed_at: Instant | None
    on_time: bool | None
    escalations: dict[str, Instant]
    """Escalation kind -> the instant it fell due."""


def read_by_the_rules(case: HistoryCase, is_workday: Callable[[date], bool],
                      offsets: tuple[int, ...], until: Instant) -> Reading:
    """The escalations due by `until` and whether the case was done on time, day by day."""
    clock = case.clock
    starts, _uncertain = naive_schedule(clock, is_workday, offsets)
    by_stage = dict(zip(LADDER, starts, strict=True))
    stopped = [clock.confirmed_at] if clock.confirmed_at is not None else []
    stopped += [hold.start for hold in clock.suspensions if hold.end is None]
    stop = min(stopped) if stopped else None
    escalations = {
        stage.value: at for stage in ESCALATIONS
        if (at := by_stage[stage]) is not None and at <= until and (stop is None or at < stop)
    }
    late_from = by_stage[Stage.YELLOW_CARD]
    on_time = None
    if clock.completed_at is not None:
        on_time = late_from is None or clock.completed_at < late_from
    return Reading(case.case_id, case.hall, case.unit, clock.accepted_at, clock.completed_at,
                   clock.confirmed_at, on_time, escalations)


FIGURES = ("received", "completed", "on_time", "yellow_cards", "red_cards", "supervision_letters")
_CARD_FIGURE = {"yellow_card": "yellow_cards", "red_card": "red_cards",
                "supervision_letter": "supervision_letters"}


def reference_figures(readings: list[Reading], until: Instant,
                      by: Callable[[Reading], str | None] = lambda _r: None
                      ) -> dict[str | None, dict[str, int]]:
    """The article's figures for instants before `until`, as `CaseStore.statistics` counts them."""
    out: dict[str | None, Counter[str]] = {}
    for reading in readings:
        row = out.setdefault(by(reading), Counter())
        if reading.accepted_at < until:
            row["received"] += 1
        if (reading.confirmed_at is not None and reading.completed_at is not None
                and reading.completed_at < until):
            row["completed"] += 1
            row["on_time"] += bool(reading.on_time)
        for kind, at in reading.escalations.items():
            if at < until:
                row[_CARD_FIGURE[kind]] += 1
    return {group: {name: row[name] for name in FIGURES} for group, row in out.items()}


def calendar_lookup(calendar: WorkCalendar) -> Callable[[date], bool]:
    """`is_workday` over the calendar's data, for the day-by-day walk (raises past its years)."""
    def is_workday(value: date) -> bool:
        return calendar.is_workday(day_from_date(value))
    return is_workday


def by_instant(history: History) -> list[tuple[Day, list[Fact]]]:
    """The facts grouped by the day they happened, in order: what a time-ordered replay feeds."""
    days: dict[Day, list[Fact]] = {}
    for fact in history.facts():
        days.setdefault(day_of(fact.at), []).append(fact)
    return sorted(days.items())


def first_and_last_day(history: History) -> tuple[date, date]:
    facts = history.facts()
    return date_from_day(day_of(facts[0].at)), date_from_day(day_of(facts[-1].at))
