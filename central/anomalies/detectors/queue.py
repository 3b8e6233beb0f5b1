"""Tickets skipped or called back out of order at one window (插队、跳号).

The hall gateway calls tickets in their order; what an officer can still do to
bend it is mark a citizen absent the moment they are called (a skip), or park
a ticket and call it back later, ahead of those waiting. A few a day are
normal; many at one window are not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from pydantic import Field
from sqlalchemy import BigInteger, Column, Table, Text, bindparam, delete

from central.anomalies.detectors.base import Detector, Settings
from central.anomalies.facts import Fact, Hit
from central.anomalies.judging import Judging
from central.anomalies.keyed import KeyedState
from central.anomalies.tables import SUPERVISION_TABLES
from central.cases.timebase import day_of, format_day
from spine.statement import Statement, Tx

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

    def __init__(self, rule: str, settings: Bending) -> None:
        super().__init__(rule, settings)
        self.days = KeyedState(ANOMALY_WINDOW_DAYS, ("rule", "hall", "window", "day"),
                               ("skips", "call_backs"))

    def _key(self, fact: Fact) -> tuple[str, str, str, str] | None:
        window, day = fact.body.get("window"), fact.body.get("day")
        return (self.rule, fact.hall or "", str(window), str(day)) if window and day else None

    def begin(self, tx: Tx, facts: Sequence[Fact]) -> None:
        self.days.begin(tx, (key for fact in facts if fact.kind in self.kinds
                             if (key := self._key(fact)) is not None))

    def end(self, tx: Tx) -> None:
        self.days.write(tx)

    def forget(self) -> None:
        self.days.forget()

    def judge(self, judging: Judging, fact: Fact) -> list[Hit]:
        body, key = fact.body, self._key(fact)
        if key is None:
            return []
        _rule, hall, window, day = key
        if fact.kind == "queue.called" and body.get("call_back"):
            skip, call_back = 0, 1
        elif fact.kind == "queue.no_show" and 0 <= fact.at - int(body.get("called_at") or 0) < (
                self.settings.skip_within_s * 1000):
            skip, call_back = 1, 0
        else:
            return []
        skips, call_backs = self.days.get(judging.tx, key) or (0, 0)
        skips, call_backs = skips + skip, call_backs + call_back
        self.days.put(key, (skips, call_backs))
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
