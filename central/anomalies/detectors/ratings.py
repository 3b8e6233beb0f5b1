"""A window whose ratings are all 非常满意 in bursts: the keypad pressed by someone other than citizens.

A streak is ratings of the grade in a row at one window, each within `within_s`
of the one before: faster than visits can be served. Any other grade, or a
pause, ends it.
"""

from __future__ import annotations

import sqlite3

from pydantic import Field

from central.anomalies.detectors.base import Detector, Settings
from central.anomalies.facts import Fact, Hit
from central.anomalies.judging import Judging
from central.cases.timebase import format_instant
from contract.events.rating import Grade


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
        row = tx.execute("SELECT streak, first_at, last_at FROM anomaly_rating_streaks "
                         "WHERE rule = ? AND hall = ? AND window = ?", (self.rule, hall, window)).fetchone()
        if fact.body["grade"] != self.settings.grade.value:
            if row is not None:
                tx.execute("DELETE FROM anomaly_rating_streaks WHERE rule = ? AND hall = ? AND window = ?",
                           (self.rule, hall, window))
            return []
        if row is not None and 0 <= fact.at - row[2] <= self.settings.within_s * 1000:
            streak, first = row[0] + 1, row[1]
        else:
            streak, first = 1, fact.at
        tx.execute("INSERT INTO anomaly_rating_streaks (rule, hall, window, streak, first_at, last_at) "
                   "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (rule, hall, window) DO UPDATE SET "
                   "streak = excluded.streak, first_at = excluded.first_at, last_at = excluded.last_at",
                   (self.rule, hall, window, streak, first, fact.at))
        if streak < self.settings.count:
            return []
        seconds = (fact.at - first) // 1000
        return [Hit(key=f"{hall}/{window}/{first}", at=fact.at,
                    summary=(f"window {window} of {hall}: {streak} ratings '{self.settings.grade.label}' in "
                             f"a row within {seconds} s (from {format_instant(first // 1000)})"),
                    hall=hall, unit=fact.body.get("department"), subject=fact.body.get("officer") or window,
                    refs=(fact.ref,), details={"window": window, "streak": streak, "seconds": seconds})]

    def prune(self, tx: sqlite3.Connection, before_ms: int) -> None:
        tx.execute("DELETE FROM anomaly_rating_streaks WHERE rule = ? AND last_at < ?",
                   (self.rule, before_ms - 86_400_000))
