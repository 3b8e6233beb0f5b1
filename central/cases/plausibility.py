"""Warnings about implausible entries: most false alarms in the trial were wrong dates.

Pure: a submission's facts, the calendar, the rule table and the current
instant in; the warnings a person should look at out. A warning does not
refuse the case (the approval systems' feed must not lose cases); the API's
`strict` mode and `POST /cases/validate` let an entry form stop and ask.
"""

from __future__ import annotations

from dataclasses import dataclass

from central.cases.calendar import CalendarGap, WorkCalendar
from central.cases.rules import RuleTable
from central.cases.stages import Limit, LimitUnit
from central.cases.timebase import Instant, day_of, format_instant


@dataclass(frozen=True)
class EntryWarning:
    """One thing about an entry that is probably a mistake, with a stable code for forms."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def _approx_workdays(limit: Limit) -> float:
    # Only to compare limits of different units: about 5 working days a week.
    if limit.unit is LimitUnit.WORKDAYS:
        return limit.amount
    if limit.unit is LimitUnit.DAYS:
        return limit.amount * 5 / 7
    return limit.amount * 21.7


def entry_warnings(
    *,
    matter: str,
    applied_at: Instant,
    accepted_at: Instant,
    limit: Limit,
    calendar: WorkCalendar,
    rules: RuleTable,
    now: Instant,
) -> list[EntryWarning]:
    """Everything implausible about a case's dates and limit, in a stable order."""
    p = rules.plausibility
    warnings: list[EntryWarning] = []
    if accepted_at < applied_at:
        warnings.append(EntryWarning(
            "accepted_before_applied",
            f"acceptance {format_instant(accepted_at)} is before application "
            f"{format_instant(applied_at)}",
        ))
    if accepted_at > now + p.future_tolerance_s:
        warnings.append(EntryWarning(
            "accepted_in_future", f"acceptance {format_instant(accepted_at)} is in the future"
        ))
    if applied_at > now + p.future_tolerance_s:
        warnings.append(EntryWarning(
            "applied_in_future", f"application {format_instant(applied_at)} is in the future"
        ))
    try:
        if not calendar.is_workday(day_of(accepted_at)):
            warnings.append(EntryWarning(
                "accepted_on_non_working_day",
                f"acceptance {format_instant(accepted_at)} is on a weekend or holiday",
            ))
    except CalendarGap as gap:
        warnings.append(EntryWarning("calendar_not_covered", str(gap)))
    if now - accepted_at > p.late_entry_days * 86400:
        warnings.append(EntryWarning(
            "entered_late",
            f"acceptance {format_instant(accepted_at)} is more than {p.late_entry_days} days ago",
        ))
    if accepted_at - applied_at > p.application_gap_days * 86400:
        warnings.append(EntryWarning(
            "long_before_acceptance",
            f"application is more than {p.application_gap_days} days before acceptance",
        ))
    usual = rules.usual_limit(matter)
    if usual is not None:
        ratio = _approx_workdays(limit) / _approx_workdays(usual)
        if limit.unit is not usual.unit or not 1 / p.limit_factor <= ratio <= p.limit_factor:
            warnings.append(EntryWarning(
                "unusual_limit", f"{matter} usually has {usual}, not {limit}"
            ))
    return warnings


def event_time_problem(at: Instant, now: Instant, rules: RuleTable) -> str | None:
    """Why a suspension, resumption or completion instant cannot be right, if it cannot."""
    if at > now + rules.plausibility.future_tolerance_s:
        return f"{format_instant(at)} is in the future"
    return None
