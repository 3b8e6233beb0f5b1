"""A case accepted outside opening hours or on a non-working day (非工作时间受理).

Either the hall opened when it should not, or the acceptance date was entered
wrongly; the trial's lesson is that the second is common, so the explanation
says so and a correction of the date is noted on the anomaly.
"""

from __future__ import annotations

from pydantic import Field

from central.anomalies.detectors.base import Detector, Settings
from central.anomalies.facts import Fact, Hit
from central.anomalies.judging import Judging
from central.cases.calendar import CalendarGap
from central.cases.timebase import date_from_day, day_of, format_day, midnight

_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class Hours(Settings):
    opens: str = Field("08:30", pattern=_HHMM, description="the halls open (Shanghai time)")
    closes: str = Field("18:00", pattern=_HHMM, description="the halls close")


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


class AcceptedOffHours(Detector[Hours]):
    name = "accepted_off_hours"
    kinds = frozenset({"case.accepted"})
    settings_model = Hours

    def judge(self, judging: Judging, fact: Fact) -> list[Hit]:
        at = fact.at // 1000
        day = day_of(at)
        minute = (at - midnight(day)) // 60
        clock = f"{minute // 60:02d}:{minute % 60:02d}"
        when = f"{_WEEKDAYS[date_from_day(day).weekday()]} {format_day(day)} {clock}"
        try:
            rest_day = not judging.calendar.is_workday(day)
        except CalendarGap:
            rest_day = False  # a year the calendar does not know: judge the hours alone
        if rest_day:
            summary = f"accepted on a non-working day ({when})"
        elif not _minutes(self.settings.opens) <= minute < _minutes(self.settings.closes):
            summary = (f"accepted at {clock} on {format_day(day)}, outside opening hours "
                       f"{self.settings.opens}–{self.settings.closes}")
        else:
            return []
        return [Hit(key=str(fact.case_id), at=fact.at, summary=f"case {fact.case_id} {summary}",
                    hall=fact.hall, unit=fact.unit, case_id=fact.case_id,
                    subject=str(fact.body.get("officer_name") or ""), refs=(fact.ref,),
                    details={"accepted_at": when, "rest_day": rest_day})]
