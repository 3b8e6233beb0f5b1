"""Instants on the wire: ISO 8601 with +08:00 for people, ms or s since the epoch inside."""

from __future__ import annotations

from datetime import UTC, datetime

from central.cases.timebase import FIXED_SHANGHAI


def to_ms(value: datetime) -> int:
    """A naive datetime is Asia/Shanghai wall time, as every hall writes it."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=FIXED_SHANGHAI)
    return int(value.timestamp() * 1000)


def iso_s(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).astimezone(FIXED_SHANGHAI).isoformat(timespec="seconds")


def today_start_ms(now_ms: int) -> int:
    """00:00 Asia/Shanghai of the day `now_ms` falls in."""
    day = 86_400_000
    offset = 8 * 3_600_000
    return (now_ms + offset) // day * day - offset
