"""Instants as people type them and as the index stores them (ms since the epoch, UTC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_instant(value: str | int | float, *, now_ms: int | None = None) -> int:
    """ms since the epoch from an int (ms), an ISO 8601 time, or `+30d`-style offset from now.

    An ISO time without an offset is local time of this machine, as a
    technician reads it off the wall clock of the hall.
    """
    if isinstance(value, bool):
        raise ValueError("a time is needed, not a boolean")
    if isinstance(value, int | float):
        return int(value)
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    if text.startswith("+") and now_ms is not None:
        match = DURATION.match(text[1:])
        if match is None:
            raise ValueError(f"{value!r}: use +N followed by s, m, h or d, e.g. +90d")
        return now_ms + int(float(match[1]) * UNIT_MS[match[2]])
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{value!r} is not a time: use ISO 8601 (2026-11-25T09:30:00+08:00), ms since "
            "the epoch, or +N[smhd]"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()
    return int(parsed.timestamp() * 1000)


def iso(ms: int | None) -> str | None:
    """An index time as ISO 8601 in UTC, to the millisecond."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def local_iso(ms: int) -> str:
    """An index time as ISO 8601 in this machine's zone, for people."""
    return datetime.fromtimestamp(ms / 1000).astimezone().isoformat(timespec="seconds")
