"""A window whose ratings are all 非常满意 in bursts: the keypad pressed by someone other than citizens.

A streak is ratings of the grade in a row at one window, each within `within_s`
of the one before: faster than visits can be served. Any other grade, or a
pause, ends it.
"""

from __future__ import annotations

from pydantic import Field
from sqlalchemy import BigInteger, Column, Table, Text, bindparam, delete, select

from central.anomalies.detectors.base import Detector, Settings
from central.anomalies.facts import Fact, Hit
from central.anomalies.judging import Judging
from central.anomalies.tables import SUPERVISION_TABLES
from central.cases.timebase import format_instant
from contract.events.rating import Grade
from spine.statement import Statement, Tx, insert_for

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
_KEY = ("rule", "hall", "window")
_AT_WINDOW = [_T[name] == bindparam(name) for name in _KEY]
_STREAK = Statement(lambda _dialect: select(_T.streak, _T.first_at, _T.last_at).where(*_AT_WINDOW))
_ENDED = Statement(lambda _dialect: delete(ANOMALY_RATING_STREAKS).where(*_AT_WINDOW))
_GROWN = Statement(lambda dialect: insert_for(dialect, ANOMALY_RATING_STREAKS).values(
    {name: bindparam(name) for name in (*_KEY, "streak", "first_at", "last_at")}).on_conflict_do_update(
    index_elements=list(_KEY), set_={name: bindparam(name) for name in ("streak", "first_at", "last_at")}))
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

    def judge(self, judging: Judging, fact: Fact) -> list[Hit]:
        window, hall = fact.body.get("window"), fact.hall or ""
        if not window or fact.body.get("grade") is None:
            return []
        tx = judging.tx
        key = {"rule": self.rule, "hall": hall, "window": window}
        row = _STREAK.run(tx, key).fetchone()
        if fact.body["grade"] != self.settings.grade.value:
            if row is not None:
                _ENDED.run(tx, key)
            return []
        if row is not None and 0 <= fact.at - row[2] <= self.settings.within_s * 1000:
            streak, first = row[0] + 1, row[1]
        else:
            streak, first = 1, fact.at
        _GROWN.run(tx, {**key, "streak": streak, "first_at": first, "last_at": fact.at})
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
