"""The rating follow-up log as the SMS feed reads it: a bad rating opened a rectification, which
its unit hears of with the day it is due (`rating.followup_opened`)."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from central.cases.timebase import day_of, format_day
from central.ratings.tables import FOLLOWUP_LOG, RATING_FOLLOWUP_LOG, RATING_FOLLOWUPS, RATINGS
from central.sms_feed.facts import Chunk, Fact
from central.store import CentralStore
from spine.statement import Statement

TYPE = "rating.followup_opened"
_L, _F, _R = RATING_FOLLOWUP_LOG.c, RATING_FOLLOWUPS.c, RATINGS.c
_OPENED = Statement(lambda _dialect: select(
    _L.id, _L.rating, _L.at, _F.due_at, _R.grade, _R.window, _R.department
).select_from(RATING_FOLLOWUP_LOG.join(RATING_FOLLOWUPS, (_F.hall == _L.hall) & (_F.rating == _L.rating))
              .join(RATINGS, (_R.hall == _L.hall) & (_R.rating == _L.rating))).where(
    _L.id > bindparam("after"), _L.id <= bindparam("head"), _L.action == "opened"
).order_by(_L.id).limit(bindparam("limit")))


class FollowUpFacts:
    name = "followups"

    def __init__(self, store: CentralStore) -> None:
        self.store = store

    def head(self) -> int:
        return self.store.read(FOLLOWUP_LOG.head)

    def after(self, position: int, limit: int) -> Chunk:
        head = self.head()
        rows = self.store.read(lambda tx: _OPENED.run(
            tx, {"after": position, "head": head, "limit": limit}).fetchall())
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
