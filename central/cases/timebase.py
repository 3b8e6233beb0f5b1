"""Instants and days as the countdown sees them: epoch seconds, and days that start at 00:00 Asia/Shanghai.

Every day boundary in the countdown is midnight in Asia/Shanghai. China has
not observed daylight saving since 1991, so the offset is a constant +08:00
for every date the calendar can know; day arithmetic is therefore integer
division, which is what lets a million cases be evaluated quickly.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_OFFSET = 8 * 3600
_DAY = 86400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
FIXED_SHANGHAI = timezone(timedelta(hours=8), "CST")
_NO_DST_SINCE = 694_224_000  # 1992-01-01: China observed no daylight saving after 1991

Instant = int
"""Seconds since the Unix epoch."""

Day = int
"""Days since 1970-01-01, counted in Asia/Shanghai: day d starts at midnight(d)."""


def day_of(instant: Instant) -> Day:
    """The Shanghai day an instant falls in."""
    return (instant + _OFFSET) // _DAY


def midnight(day: Day) -> Instant:
    """00:00 Asia/Shanghai of a day."""
    return day * _DAY - _OFFSET


def day_from_date(value: date) -> Day:
    return value.toordinal() - _EPOCH_ORDINAL


def date_from_day(day: Day) -> date:
    return date.fromordinal(day + _EPOCH_ORDINAL)


def instant_from_datetime(value: datetime) -> Instant:
    """Epoch seconds of a datetime; a naive datetime is read as Asia/Shanghai wall time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return int(value.timestamp())


def datetime_from_instant(instant: Instant) -> datetime:
    """The instant as an aware Asia/Shanghai datetime, for people and JSON."""
    return datetime.fromtimestamp(instant, tz=UTC).astimezone(SHANGHAI)


def _fixed(instant: Instant) -> datetime:
    # The same wall time as Asia/Shanghai for every date since 1991, without
    # the zone lookup: formatting is on the engine's hot path.
    return datetime.fromtimestamp(instant, tz=FIXED_SHANGHAI)


def parse_instant(text: str) -> Instant:
    """`2026-11-23T10:00`, `2026-11-23 10:00:00+08:00` or `2026-11-23` (midnight); naive = Shanghai.

    A text that is not such an instant raises ValueError in words an operator can act on.
    """
    text = text.strip()
    try:
        if len(text) == 10:
            return midnight(day_from_date(date.fromisoformat(text)))
        return instant_from_datetime(datetime.fromisoformat(text.replace(" ", "T", 1)))
    except ValueError:
        raise ValueError(explain_bad_instant(text)) from None


_INSTANT_SHAPE = re.compile(
    r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?)?"
    r"(?P<offset>Z|[+-]\d{2}:?\d{2})?$"
)
_WRITE_IT = "write 2026-11-23, 2026-11-23T10:00 or 2026-11-23T10:00:00+08:00 (no offset: Shanghai time)"


def explain_bad_instant(text: str) -> str:
    """Why `text` is not an instant, in the operator's words (Python's own say `Invalid isoformat`)."""
    shape = _INSTANT_SHAPE.match(text)
    if shape is None:
        return f"{text!r} is not a date or time: {_WRITE_IT}"
    year, month, day = (int(shape[name]) for name in ("year", "month", "day"))
    if not 1 <= month <= 12:
        return f"{text!r}: there is no month {month} (months are 01 to 12)"
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return f"{text!r}: there is no day {day} in {calendar.month_name[month]} {year} (it has {days} days)"
    for name, top in (("hour", 23), ("minute", 59), ("second", 59)):
        value = shape[name]
        if value is not None and int(value) > top:
            return f"{text!r}: {name} {int(value)} does not exist (0 to {top})"
    return f"{text!r} is not a date or time: {_WRITE_IT}"


def format_instant(instant: Instant) -> str:
    """ISO 8601 with the +08:00 offset, to the second."""
    if instant >= _NO_DST_SINCE:
        return _fixed(instant).isoformat(timespec="seconds")
    return datetime_from_instant(instant).isoformat(timespec="seconds")


def format_day(day: Day) -> str:
    return date_from_day(day).isoformat()
