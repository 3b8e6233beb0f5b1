"""A window whose ratings are all 非常满意 in bursts: the keypad pressed by someone other than citizens.

A streak is ratings of the grade in a row at one window, each within `within_s`
of the one before: faster than visits can be served. Any other grade, or a
pause, ends it.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field
from sqlalchemy import BigInteger, Column, Table, Text, bindparam, delete

from central.anomalies.detectors.base import Detector, Settings
from central.anomalies.facts import Fact, Hit
from central.anomalies.judging import Judging
from central.anomalies.keyed import KeyedState
from central.anomalies.tables import SUPERVISION_TABLES
from central.cases.timebase import format_instant
from contract.events.rating import Grade
from spine.statement import Statement, Tx

ANOMALY_RATING_STREAKS = Table(
    "anomaly_rating_streaks", SUPERVISION_TABLES,
    Column("rule", Text, primary_key=True),
    Column("hall", Text, primary_key=True),
    Column("window", Text, primary_key=True),
    Column("streak", BigInteger, nullable=False),
    Column("first_at", BigInteger, nullable=False),
    Column("last_at", BigInteger, nullable=False),
)
_T = ANOMALY_RATING_STREAKS.c
_PRUNE = Statement(lambda _dialect: delete(ANOMALY_RATING_STREAKS).where(
    _T.rule == bindparam("rule"), _T.last_at < bindparam("before")))


class Burst(Settings):
    count: int = Field(5, ge=2, description="ratings in a row that make a burst")
    within_s: int = Field(120, ge=1, description="each within this many seconds of the one before")
    grade: Grade = Grade.VERY_SATISFIED


class RatingBursts(Detector[Burst]):
    name = "rating_bursts"
    kinds = frozenset({"rating.recorded"})
    settings_model = Burst
    schema = """
CREATE TABLE IF NOT EXISTS anomaly_rating_streaks (
    rule TEXT NOT NULL,
    hall TEXT NOT NULL,
    window TEXT NOT NULL,
    streak INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (rule, hall, window)
);
"""

    def __init__(self, rule: str, settings: Burst) -> None:
        super().__init__(rule, settings)
        self.streaks = KeyedState(ANOMALY_RATING_STREAKS, ("rule", "hall", "window"),
                                  ("streak", "first_at", "last_at"))

    def _key(self, fact: Fact) -> tuple[str, str, str] | None:
        window = fact.body.get("window")
        if not window or fact.body.get("grade") is None:
            return None
        return (self.rule, fact.hall or "", str(window))

    def begin(self, tx: Tx, facts: Sequence[Fact]) -> None:
        self.streaks.begin(tx, (key for fact in facts if fact.kind in self.kinds
                                if (key := self._key(fact)) is not None))

    def end(self, tx: Tx) -> None:
        self.streaks.write(tx)

    def forget(self) -> None:
        self.streaks.forget()

    def judge(self, judging: Judging, fact: Fact) -> list[Hit]:
        key = self._key(fact)
        if key is None:
            return []
        _rule, hall, window = key
        row = self.streaks.get(judging.tx, key)
        if fact.body["grade"] != self.settings.grade.value:
            if row is not None:
                self.streaks.put(key, None)
            return []
        if row is not None and 0 <= fact.at - row[2] <= self.settings.within_s * 1000:
            streak, first = row[0] + 1, row[1]
        else:
            streak, first = 1, fact.at
        self.streaks.put(key, (streak, first, fact.at))
        if streak < self.settings.count:
            return []
        seconds = (fact.at - first) // 1000
        return [Hit(key=f"{hall}/{window}/{first}", at=fact.at,
                    summary=(f"window {window} of {hall}: {streak} ratings '{self.settings.grade.label}' in "
                             f"a row within {seconds} s (from {format_instant(first // 1000)})"),
                    hall=hall, unit=fact.body.get("department"), subject=fact.body.get("officer") or window,
                    refs=(fact.ref,), details={"window": window, "streak": streak, "seconds": seconds})]

    def prune(self, tx: Tx, before_ms: int) -> None:
        _PRUNE.run(tx, {"rule": self.rule, "before": before_ms - 86_400_000})
