"""The rating follow-up log as the SMS feed reads it: a bad rating opened a rectification, which
its unit hears of with the day it is due (`rating.followup_opened`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from central.cases.timebase import day_of, format_day
from central.sms_feed.facts import Chunk, Fact

Read = Callable[[str, tuple[Any, ...]], list[Any]]
TYPE = "rating.followup_opened"


class FollowUpFacts:
    name = "followups"

    def __init__(self, read: Read) -> None:
        self.read = read

    def head(self) -> int:
        return int(self.read("SELECT max(id) FROM rating_followup_log", ())[0][0] or 0)

    def after(self, position: int, limit: int) -> Chunk:
        head = self.head()
        rows = self.read(
            "SELECT l.id, l.rating, l.at, f.due_at, r.grade, r.window, r.department "
            "FROM rating_followup_log l JOIN rating_followups f ON f.hall = l.hall AND f.rating = l.rating "
            "JOIN ratings r ON r.hall = l.hall AND r.rating = l.rating "
            "WHERE l.id > ? AND l.id <= ? AND l.action = 'opened' ORDER BY l.id LIMIT ?",
            (position, head, limit))
        facts = [_fact(*row) for row in rows]
        upto = rows[-1][0] if len(rows) == limit else head
        return Chunk(facts, max(upto, position))


def _fact(seq: int, rating: str, at: int, due_at: int, grade: str, window: str | None,
          unit: str | None) -> Fact:
    if not unit:  # a rating no unit answers for: nobody to tell
        return Fact(seq, f"followup:{seq}", TYPE, None, at)
    body = {"rating": rating, "unit": unit, "window": window, "grade": grade,
            "due_day": format_day(day_of(due_at // 1000 - 1))}  # due at 00:00 after its last day
    return Fact(seq, f"followup:{seq}", TYPE, body, at)
