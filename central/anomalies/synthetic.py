"""A synthetic year for the back-test: the countdown's synthetic history, made plausible for the rules,
with a known handful of irregularities planted in it.

`central.cases.synthetic` writes a year of the trial's size in which one
officer states every fact of a case; in a real hall a second person (a
reviewer of the unit) confirms completion, so here they do, except where a
self-confirmation is planted. The other plants: acceptances out of hours,
cases suspended three times, suspensions just before the yellow light,
officers meeting one applicant again and again, corrections that move a due
day after the light came on (and harmless early ones that must not count),
discretionary decisions in and out of range. Deterministic for a shape.

The year is kept as a case log in memory (`MemoryCases`), records numbered as
the case store would number them: the back-test reads it exactly as it reads
a store's log.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from central.anomalies.facts import Fact
from central.anomalies.feeds import case_fact
from central.anomalies.judging import MemoryCases
from central.cases.calendar import WorkCalendar
from central.cases.countdown import CaseClock, compute
from central.cases.eventlog import LogRecord
from central.cases.rules import Ladder
from central.cases.stages import Limit, LimitUnit, Stage
from central.cases.synthetic import HistoryCase, HistoryShape, generate
from central.cases.timebase import Instant, format_instant, parse_instant
from central.discretion import Standards, default_standards

_HOUR = 3600


@dataclass(frozen=True)
class Plants:
    """How many irregularities of each kind to plant."""

    off_hours: int = 9
    repeated_suspensions: int = 6
    near_yellow: int = 7
    self_confirmed: int = 12
    pair_groups: int = 3
    pair_size: int = 5
    deadline_moved: int = 4
    early_corrections: int = 4
    """Corrections of a date while the case is still blue: they must raise nothing."""
    decisions: int = 40
    decisions_out_of_range: int = 3


@dataclass
class SyntheticYear:
    cases: MemoryCases
    facts: list[Fact]
    planted: dict[str, set[str]]
    """Rule -> what it must find: case ids (for `officer_applicant_pairs`, `officer|first case`)."""
    case_count: int


@dataclass
class _Case:
    history: HistoryCase
    facts: list[tuple[Instant, str, dict[str, Any], str]] = field(default_factory=list)
    """(instant, kind, body as the store logs it, actor)."""
    planted: bool = False

    @property
    def entry(self) -> dict[str, Any]:
        return self.facts[0][2]

    def at_of(self, kind: str) -> Instant | None:
        return next((at for at, k, _b, _a in self.facts if k == kind), None)


def synthetic_year(shape: HistoryShape, calendar: WorkCalendar, ladder: Ladder, plants: Plants = Plants(),
                   standards: Standards | None = None) -> SyntheticYear:
    history = generate(shape, calendar)
    rng = random.Random(shape.seed + 19)
    cases = [_logged(case) for case in history.cases]
    planted: dict[str, set[str]] = {}
    done = [c for c in cases if [k for _a, k, _b, _x in c.facts] ==
            ["case.accepted", "case.completed", "case.completion_confirmed"]]
    rng.shuffle(done)
    pool = iter(done)

    def take(n: int, fits: Any = lambda _c: True) -> list[_Case]:
        chosen: list[_Case] = []
        for case in pool:
            if len(chosen) == n:
                break
            if fits(case):
                case.planted = True
                chosen.append(case)
        return chosen

    for case in cases:  # a reviewer of the unit confirms, as in a real hall
        case.facts = [(at, k, b, f"复核-{case.history.unit}" if k == "case.completion_confirmed" else a)
                      for at, k, b, a in case.facts]
    for case in take(plants.self_confirmed):
        case.facts = [(at, k, b, case.facts[1][3] if k == "case.completion_confirmed" else a)
                      for at, k, b, a in case.facts]
        planted.setdefault("self_confirmed", set()).add(case.history.case_id)
    for case in take(plants.off_hours):
        _accept_earlier(case, 13 * _HOUR)
        planted.setdefault("accepted_off_hours", set()).add(case.history.case_id)
    for case in take(plants.repeated_suspensions, lambda c: _span(c) > 2 * 86400):
        accepted = case.facts[0][0]
        for k, reason in enumerate(("testing", "expert_review", "inspection")):
            start = accepted + (2 * k + 1) * _HOUR
            _add(case, start, "case.suspended", {"reason": reason, "note": ""})
            _add(case, start + _HOUR, "case.resumed", {})
        planted.setdefault("repeated_suspensions", set()).add(case.history.case_id)
    for case in take(plants.near_yellow, lambda c: _fits_before_yellow(c, calendar, ladder)):
        start = _yellow(case, calendar, ladder) - 5 * _HOUR
        _add(case, start, "case.suspended", {"reason": "expert_review", "note": ""})
        _add(case, start + 2 * _HOUR, "case.resumed", {})
        planted.setdefault("suspension_near_deadline", set()).add(case.history.case_id)
    for case in take(plants.deadline_moved, lambda c: _yellow(c, calendar, ladder) + 2 * _HOUR < _done(c)):
        _correct_limit(case, _yellow(case, calendar, ladder) + 2 * _HOUR)
        planted.setdefault("deadline_moved", set()).add(case.history.case_id)
    for case in take(plants.early_corrections, lambda c: _span(c) > _HOUR):
        _correct_limit(case, case.facts[0][0] + 30 * 60)
    _plant_pairs(cases, plants, planted, rng)
    table = standards or default_standards()
    deciding = take(plants.decisions + plants.decisions_out_of_range, lambda c: _span(c) > 3 * _HOUR)
    for i, case in enumerate(deciding):
        outside = i < plants.decisions_out_of_range
        amount = 80000.0 if outside else float(rng.randrange(10, 50)) * 1000
        measure = table.measure("违法建设罚款", "一般", amount, None)
        _add(case, case.facts[0][0] + 2 * _HOUR, "case.decided", {
            "matter": "违法建设罚款", "circumstance": "一般", "amount": amount, "outcome": None,
            "reason": "拒不整改，多次违法" if outside else "", "standard": measure.standard,
            "within": measure.within})
        if outside:
            planted.setdefault("decision_out_of_range", set()).add(case.history.case_id)
    memory, facts = _numbered(cases)
    return SyntheticYear(memory, facts, planted, len(cases))


def _logged(case: HistoryCase) -> _Case:
    out = _Case(case)
    for fact in case.facts:
        body = dict(fact.body)
        actor = str(body.pop("by"))
        if fact.kind == "case.accepted":
            body["warnings"] = []
        else:
            body = {"case_id": body["case_id"], **({"reason": body["reason"], "note": ""}
                                                   if fact.kind == "case.suspended" else {})}
        out.facts.append((fact.at, fact.kind, body, actor))
    return out


def _add(case: _Case, at: Instant, kind: str, body: dict[str, Any]) -> None:
    case.facts.append((at, kind, {"case_id": case.history.case_id, **body}, case.facts[1][3]))
    case.facts.sort(key=lambda fact: fact[0])


def _span(case: _Case) -> int:
    return _done(case) - case.facts[0][0]


def _done(case: _Case) -> Instant:
    return case.at_of("case.completed") or case.facts[0][0]


def _clock(case: _Case) -> CaseClock:
    entry = case.entry
    return CaseClock(parse_instant(entry["accepted_at"]),
                     Limit(int(entry["limit"]), LimitUnit(entry["limit_unit"])))


def _yellow(case: _Case, calendar: WorkCalendar, ladder: Ladder) -> Instant:
    return compute(_clock(case), calendar, ladder).step(Stage.YELLOW_LIGHT) or 0


def _fits_before_yellow(case: _Case, calendar: WorkCalendar, ladder: Ladder) -> bool:
    start = _yellow(case, calendar, ladder) - 5 * _HOUR
    return case.facts[0][0] + _HOUR < start and start + 3 * _HOUR < _done(case)


def _accept_earlier(case: _Case, by: int) -> None:
    at, kind, body, actor = case.facts[0]
    body = {**body, "accepted_at": format_instant(at - by), "applied_at": format_instant(at - by - _HOUR)}
    case.facts[0] = (at - by, kind, body, actor)


def _correct_limit(case: _Case, at: Instant) -> None:
    limit = int(case.entry["limit"])
    # `corrects` is filled in once the log is numbered: the case's acceptance.
    _add(case, at, "case.corrected", {"corrects": None, "corrected_type": "case.accepted",
                                      "changes": {"limit": limit + 10}, "reason": "期限录入有误"})


def _plant_pairs(cases: list[_Case], plants: Plants, planted: dict[str, set[str]],
                 rng: random.Random) -> None:
    by_officer: dict[str, list[_Case]] = {}
    for case in cases:
        if not case.planted:
            by_officer.setdefault(case.entry["officer_name"], []).append(case)
    officers = sorted(by_officer)
    rng.shuffle(officers)
    groups = 0
    for officer in officers:
        if groups == plants.pair_groups:
            return
        theirs = sorted(by_officer[officer], key=lambda c: c.facts[0][0])
        for start in range(len(theirs) - plants.pair_size + 1):
            run = theirs[start:start + plants.pair_size]
            if run[-1].facts[0][0] - run[0].facts[0][0] < 60 * 86400:
                phone = f"1370000{groups:04d}"
                for case in run:
                    case.facts[0][2]["contact_phone"] = phone
                    case.planted = True
                planted.setdefault("officer_applicant_pairs", set()).add(
                    f"{officer}|{run[0].history.case_id}")
                groups += 1
                break


def _numbered(cases: list[_Case]) -> tuple[MemoryCases, list[Fact]]:
    everything = sorted(((at, kind, body, actor, case) for case in cases
                         for at, kind, body, actor in case.facts), key=lambda item: item[0])
    memory, facts = MemoryCases(), []
    accepted_seq: dict[str, int] = {}
    for seq, (at, kind, body, actor, case) in enumerate(everything, start=1):
        case_id = case.history.case_id
        if kind == "case.accepted":
            accepted_seq[case_id] = seq
        if kind == "case.corrected":
            body = {**body, "corrects": accepted_seq[case_id]}
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        # A correction has no instant of its own in the log: it is when it was recorded.
        instant = None if kind == "case.corrected" else at
        record = LogRecord(seq, case_id, kind, instant, at, actor, text, "", "")
        memory.add(record)
        facts.append(case_fact(seq, case_id, kind, record.at, at, actor, text, case.history.hall,
                               case.history.unit, ""))
    return memory, facts
