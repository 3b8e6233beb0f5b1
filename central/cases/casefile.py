"""A case as its events say it is now: the fold of the append-only log, corrections applied.

Pure: the store folds each new event in as it appends it, and `hall central
rebuild` folds the whole log again; both run this same code, so the
projection can always be checked against the log.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from central.cases.countdown import CaseClock, Suspension
from central.cases.stages import Limit, LimitUnit
from central.cases.timebase import Instant, instant_from_datetime

ACCEPTED = "case.accepted"
SUSPENDED = "case.suspended"
RESUMED = "case.resumed"
COMPLETED = "case.completed"
CONFIRMED = "case.completion_confirmed"
CORRECTED = "case.corrected"
DECIDED = "case.decided"
ESCALATED = "case.escalated"
REMINDER = "case.reminder"
RECOMPUTED = "case.recomputed"
CALENDAR_UPDATED = "calendar.updated"
RULES_UPDATED = "rules.updated"

FACT_TYPES = (ACCEPTED, SUSPENDED, RESUMED, COMPLETED, CONFIRMED, CORRECTED, DECIDED)

# What a correction may change, by the type of the event it corrects.
CORRECTABLE: dict[str, frozenset[str]] = {
    ACCEPTED: frozenset(
        {
            "hall", "unit", "window", "matter", "project_category", "project_attribute",
            "contact_name", "contact_phone", "officer_name", "officer_id", "officer_phone",
            "applied_at", "accepted_at", "limit", "limit_unit",
        }
    ),
    SUSPENDED: frozenset({"at", "reason", "note", "void"}),
    RESUMED: frozenset({"at", "void"}),
    COMPLETED: frozenset({"at", "void"}),
    CONFIRMED: frozenset({"at", "void"}),
}
INSTANT_FIELDS = frozenset({"applied_at", "accepted_at", "at"})


class CaseRuleError(ValueError):
    """An event that the case's history does not allow (resume without suspension, ...)."""


def to_instant(value: Any) -> Instant:
    """An instant from the log's ISO text or an epoch number or a datetime."""
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        return instant_from_datetime(value)
    return instant_from_datetime(datetime.fromisoformat(str(value)))


@dataclass(frozen=True)
class HoldEntry:
    """A suspension as recorded: who started it (log seq), why, and its resume if any."""

    seq: int
    start: Instant
    reason: str
    note: str = ""
    end: Instant | None = None
    end_seq: int | None = None


@dataclass(frozen=True)
class Stamp:
    seq: int
    at: Instant


@dataclass(frozen=True)
class DecisionEntry:
    """A discretionary decision as recorded (`case.decided`): measured against its standard then."""

    seq: int
    at: Instant
    matter: str
    circumstance: str
    amount: float | None
    outcome: str | None
    within: bool


@dataclass(frozen=True)
class CaseFile:
    """Every current fact of one case; phones are already masked here."""

    case_id: str
    accepted_seq: int
    hall: str
    unit: str
    window: str | None
    matter: str
    project_category: str
    project_attribute: str
    contact_name: str
    contact_phone: str
    officer_name: str
    officer_id: str | None
    officer_phone: str
    applied_at: Instant
    accepted_at: Instant
    limit: Limit
    holds: tuple[HoldEntry, ...] = ()
    completed: Stamp | None = None
    confirmed: Stamp | None = None
    corrections: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()
    decisions: tuple[DecisionEntry, ...] = ()
    """Discretionary decisions, in the order recorded (a later one of a matter supersedes)."""

    @property
    def suspended(self) -> bool:
        return bool(self.holds) and self.holds[-1].end is None

    @property
    def is_open(self) -> bool:
        return self.confirmed is None

    def clock(self) -> CaseClock:
        return CaseClock(
            self.accepted_at,
            self.limit,
            tuple(Suspension(h.start, h.end) for h in self.holds),
            self.completed.at if self.completed else None,
            self.confirmed.at if self.confirmed else None,
        )

    def last_fact_at(self) -> Instant:
        instants = [self.accepted_at]
        for hold in self.holds:
            instants.append(hold.end if hold.end is not None else hold.start)
        for stamp in (self.completed, self.confirmed):
            if stamp is not None:
                instants.append(stamp.at)
        return max(instants)


def open_file(case_id: str, seq: int, body: Mapping[str, Any]) -> CaseFile:
    return CaseFile(
        case_id=case_id,
        accepted_seq=seq,
        hall=body["hall"],
        unit=body["unit"],
        window=body.get("window"),
        matter=body["matter"],
        project_category=body.get("project_category", ""),
        project_attribute=body.get("project_attribute", ""),
        contact_name=body["contact_name"],
        contact_phone=body["contact_phone"],
        officer_name=body["officer_name"],
        officer_id=body.get("officer_id"),
        officer_phone=body["officer_phone"],
        applied_at=to_instant(body["applied_at"]),
        accepted_at=to_instant(body["accepted_at"]),
        limit=Limit(int(body["limit"]), LimitUnit(body.get("limit_unit", "workdays"))),
        warnings=tuple(body.get("warnings", ())),
    )


def fold(file: CaseFile | None, seq: int, kind: str, at: Instant | None,
         body: Mapping[str, Any]) -> CaseFile:
    """The case after one more fact event; raises CaseRuleError if its history forbids it."""
    if kind == ACCEPTED:
        if file is not None:
            raise CaseRuleError("the case is already accepted")
        return open_file(str(body["case_id"]), seq, body)
    if file is None:
        raise CaseRuleError("no such case")
    if kind == CORRECTED:
        return _correct(file, seq, body)
    if at is None:
        raise CaseRuleError(f"{kind} needs its instant")
    if file.confirmed is not None:
        raise CaseRuleError("the case is closed: completion was confirmed; file a correction")
    if kind == DECIDED:
        decision = DecisionEntry(seq, at, str(body["matter"]), str(body["circumstance"]),
                                 body.get("amount"), body.get("outcome"), bool(body["within"]))
        return replace(file, decisions=(*file.decisions, decision))
    if kind == SUSPENDED:
        if file.suspended:
            raise CaseRuleError("the case is already suspended")
        if file.completed is not None:
            raise CaseRuleError("the case is marked done; a done case cannot be suspended")
        hold = HoldEntry(seq, at, str(body["reason"]), str(body.get("note", "")))
        return replace(file, holds=(*file.holds, hold))
    if kind == RESUMED:
        if not file.suspended:
            raise CaseRuleError("the case is not suspended")
        last = replace(file.holds[-1], end=at, end_seq=seq)
        return replace(file, holds=(*file.holds[:-1], last))
    if kind == COMPLETED:
        if file.completed is not None:
            raise CaseRuleError("the case is already marked done")
        if file.suspended:
            # Finishing during a suspension ends the suspension at that instant.
            last = replace(file.holds[-1], end=at, end_seq=seq)
            file = replace(file, holds=(*file.holds[:-1], last))
        return replace(file, completed=Stamp(seq, at))
    if kind == CONFIRMED:
        if file.completed is None:
            raise CaseRuleError("only a case marked done can have its completion confirmed")
        return replace(file, confirmed=Stamp(seq, at))
    raise CaseRuleError(f"{kind} is not a fact of a case")


def _correct(file: CaseFile, seq: int, body: Mapping[str, Any]) -> CaseFile:
    target = int(body["corrects"])
    target_type = str(body["corrected_type"])
    changes: Mapping[str, Any] = body["changes"]
    allowed = CORRECTABLE.get(target_type, frozenset())
    wrong = sorted(set(changes) - allowed)
    if wrong or not changes:
        raise CaseRuleError(
            f"a correction of {target_type} may change {sorted(allowed)}, not {wrong or 'nothing'}"
        )
    values = {k: to_instant(v) if k in INSTANT_FIELDS else v for k, v in changes.items()}
    void = bool(values.pop("void", False))
    corrected = _correct_target(file, target, target_type, values, void)
    if "warnings" in body:
        # A corrected acceptance is judged again; its warnings replace the old ones.
        corrected = replace(corrected, warnings=tuple(body["warnings"]))
    return replace(corrected, corrections=(*corrected.corrections, seq))


def _correct_target(file: CaseFile, target: int, target_type: str,
                    values: dict[str, Any], void: bool) -> CaseFile:
    if target_type == ACCEPTED:
        if target != file.accepted_seq:
            raise CaseRuleError(f"event {target} is not this case's acceptance")
        if "limit" in values or "limit_unit" in values:
            values["limit"] = Limit(
                int(values.pop("limit", file.limit.amount)),
                LimitUnit(values.pop("limit_unit", file.limit.unit.value)),
            )
        return replace(file, **values)
    if target_type in (SUSPENDED, RESUMED):
        for i, hold in enumerate(file.holds):
            if target_type == SUSPENDED and hold.seq == target:
                if void:
                    return replace(file, holds=file.holds[:i] + file.holds[i + 1:])
                new = replace(
                    hold,
                    start=values.get("at", hold.start),
                    reason=values.get("reason", hold.reason),
                    note=values.get("note", hold.note),
                )
                return replace(file, holds=(*file.holds[:i], new, *file.holds[i + 1:]))
            if target_type == RESUMED and hold.end_seq == target:
                new = replace(hold, end=None, end_seq=None) if void else replace(
                    hold, end=values.get("at", hold.end)
                )
                return replace(file, holds=(*file.holds[:i], new, *file.holds[i + 1:]))
        raise CaseRuleError(f"event {target} is not a {target_type} of this case")
    stamp = file.completed if target_type == COMPLETED else file.confirmed
    if stamp is None or stamp.seq != target:
        raise CaseRuleError(f"event {target} is not the current {target_type} of this case")
    if target_type == COMPLETED:
        if void:
            return replace(file, completed=None, confirmed=None)
        return replace(file, completed=Stamp(target, values.get("at", stamp.at)))
    if void:
        return replace(file, confirmed=None)
    return replace(file, confirmed=Stamp(target, values.get("at", stamp.at)))


def check_consistent(file: CaseFile) -> None:
    """Raise CaseRuleError when the facts contradict each other (after a correction, say)."""
    previous_end = file.accepted_at
    for hold in file.holds:
        if hold.start < previous_end:
            raise CaseRuleError("a suspension starts before acceptance or before the previous one ends")
        if hold.end is not None and hold.end < hold.start:
            raise CaseRuleError("a suspension ends before it starts")
        previous_end = hold.end if hold.end is not None else hold.start
    if file.completed is not None and file.completed.at < previous_end:
        raise CaseRuleError("completion is before acceptance or inside a suspension")
    if file.confirmed is not None and file.completed is not None and (
        file.confirmed.at < file.completed.at
    ):
        raise CaseRuleError("completion is confirmed before it was done")


_FILE_FIELDS = tuple(f.name for f in fields(CaseFile))
# One encoder, made once: json.dumps with options builds a new one per call.
_FILE_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def file_to_json(file: CaseFile) -> str:
    # By hand, not dataclasses.asdict: its deep copies were a third of a bulk import's time.
    data: dict[str, Any] = {name: getattr(file, name) for name in _FILE_FIELDS}
    data["limit"] = {"amount": file.limit.amount, "unit": file.limit.unit.value}
    data["holds"] = [dict(vars(hold)) for hold in file.holds]
    data["completed"] = dict(vars(file.completed)) if file.completed else None
    data["confirmed"] = dict(vars(file.confirmed)) if file.confirmed else None
    data["corrections"] = list(file.corrections)
    data["warnings"] = list(file.warnings)
    data["decisions"] = [dict(vars(decision)) for decision in file.decisions]
    return _FILE_JSON.encode(data)


def file_from_json(text: str) -> CaseFile:
    data = json.loads(text)
    data["limit"] = Limit(data["limit"]["amount"], LimitUnit(data["limit"]["unit"]))
    data["holds"] = tuple(HoldEntry(**h) for h in data["holds"])
    data["completed"] = Stamp(**data["completed"]) if data["completed"] else None
    data["confirmed"] = Stamp(**data["confirmed"]) if data["confirmed"] else None
    data["corrections"] = tuple(data["corrections"])
    data["warnings"] = tuple(data["warnings"])
    # A file stored before decisions existed has none.
    data["decisions"] = tuple(DecisionEntry(**d) for d in data.get("decisions", ()))
    return CaseFile(**data)
