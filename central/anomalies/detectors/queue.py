"""Tickets skipped or called back out of order at one window (插队、跳号).

The hall gateway calls tickets in their order; what an officer can still do to
bend it is mark a citizen absent the moment they are called (a skip), or park
a ticket and call it back later, ahead of those waiting. A few a day are
normal; many at one window are not.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import Field
from sqlalchemy import BigInteger, Column, Table, Text, bindparam, delete, select

from central.anomalies.detectors.base import Detector, Settings
from central.anomalies.facts import Fact, Hit
from central.anomalies.judging import Judging
from central.anomalies.tables import SUPERVISION_TABLES
from central.cases.timebase import day_of, format_day
from spine.statement import Statement, Tx, insert_for

ANOMALY_WINDOW_DAYS = Table(
    "anomaly_window_days", SUPERVISION_TABLES,
    Column("rule", Text, primary_key=True),
    Column("hall", Text, primary_key=True),
    Column("window", Text, primary_key=True),
    Column("day", Text, primary_key=True),
    Column("skips", BigInteger, nullable=False),
    Column("call_backs", BigInteger, nullable=False),
)
_T = ANOMALY_WINDOW_DAYS.c
_KEY = ("rule", "hall", "window", "day")


def _counted(dialect: str) -> Any:
    insert = insert_for(dialect, ANOMALY_WINDOW_DAYS).values(
        {name: bindparam(name) for name in (*_KEY, "skips", "call_backs")})
    return insert.on_conflict_do_update(index_elements=list(_KEY), set_={
        "skips": _T.skips + insert.excluded.skips, "call_backs": _T.call_backs + insert.excluded.call_backs})


_COUNT = Statement(_counted)
_COUNTS = Statement(lambda _dialect: select(_T.skips, _T.call_backs).where(
    *(_T[name] == bindparam(name) for name in _KEY)))
_PRUNE = Statement(lambda _dialect: delete(ANOMALY_WINDOW_DAYS).where(
    _T.rule == bindparam("rule"), _T.day < bindparam("before")))


class Bending(Settings):
    count: int = Field(5, ge=1,
                       description="skips and call-backs at one window in a day that make an anomaly")
    skip_within_s: int = Field(30, ge=1, description="a no-show marked this soon after the call is a skip")


class QueueBending(Detector[Bending]):
    name = "queue_bending"
    kinds = frozenset({"queue.called", "queue.no_show"})
    settings_model = Bending
    schema = """
CREATE TABLE IF NOT EXISTS anomaly_window_days (
    rule TEXT NOT NULL,
    hall TEXT NOT NULL,
    window TEXT NOT NULL,
    day TEXT NOT NULL,
    skips INTEGER NOT NULL,
    call_backs INTEGER NOT NULL,
    PRIMARY KEY (rule, hall, window, day)
);
"""

    def judge(self, judging: Judging, fact: Fact) -> list[Hit]:
        body, hall = fact.body, fact.hall or ""
        window, day = body.get("window"), body.get("day")
        if not window or not day:
            return []
        if fact.kind == "queue.called" and body.get("call_back"):
            skip, call_back = 0, 1
        elif fact.kind == "queue.no_show" and 0 <= fact.at - int(body.get("called_at") or 0) < (
                self.settings.skip_within_s * 1000):
            skip, call_back = 1, 0
        else:
            return []
        tx = judging.tx
        key = {"rule": self.rule, "hall": hall, "window": window, "day": day}
        _COUNT.run(tx, {**key, "skips": skip, "call_backs": call_back})
        skips, call_backs = _COUNTS.run(tx, key).fetchone()
        if skips + call_backs < self.settings.count:
            return []
        return [Hit(key=f"{hall}/{window}/{day}", at=fact.at,
                    summary=(f"window {window} of {hall} on {day}: {skips} tickets skipped within "
                             f"{self.settings.skip_within_s} s of their call, {call_backs} called back "
                             "out of order"),
                    hall=hall, subject=body.get("officer") or window, refs=(fact.ref,),
                    details={"window": window, "day": day, "skips": skips, "call_backs": call_backs})]

    def prune(self, tx: Tx, before_ms: int) -> None:
        # A day is complete once the next one has begun; keep one more for late facts.
        keep_from = date.fromisoformat(format_day(day_of(before_ms // 1000))) - timedelta(days=1)
        _PRUNE.run(tx, {"rule": self.rule, "before": keep_from.isoformat()})
