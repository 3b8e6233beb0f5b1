"""The anomaly watch: each tick, the facts that arrived since the last one, judged by every rule on.

Incremental: a tick reads each feed forward from its position (never the whole
history), parks what it read in `anomaly_pending`, then hands the rules, in
time order, each parked fact whose source is known complete up to its instant
(`central.anomalies.horizons`); the rest waits for a later tick. Positions,
parked facts, the rules' state and the anomalies they raise all live in the
supervision file and commit together, so a crash judges nothing twice and
loses nothing.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from central.anomalies.book import AnomalyBook, Raised
from central.anomalies.facts import Fact, Hit
from central.anomalies.feeds import Feed
from central.anomalies.judging import CaseHistory, Judging, Pseudonym
from central.anomalies.table import AnomalyRules, RuleSpec
from central.cases.calendar import WorkCalendar
from central.cases.rules import Ladder
from central.supervision_store import SupervisionStore

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS anomaly_cursors (
    feed TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS anomaly_pending (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    at INTEGER NOT NULL,
    fact TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS anomaly_pending_due ON anomaly_pending (source, at);
"""

READ_BATCH = 5000
JUDGE_BATCH = 2000
MAX_READS_PER_TICK = 20
"""Feed reads a tick makes at most: a backlog (central restarted after months) drains over ticks."""

Horizons = Callable[[int], dict[str, int]]
"""now (ms) -> each source that may be judged, with how far (ms)."""


@dataclass
class TickReport:
    read: int = 0
    judged: int = 0
    waiting: int = 0
    raised: list[Raised] = field(default_factory=list)


class Rulebook:
    """The enabled rules, each with its detector, found by the kinds of fact they read."""

    def __init__(self, rules: Sequence[RuleSpec]) -> None:
        self.rules = list(rules)
        self.detectors = [(rule, rule.build()) for rule in self.rules]
        self._by_kind: dict[str, list[int]] = {}
        for index, (_rule, detector) in enumerate(self.detectors):
            for kind in detector.kinds:
                self._by_kind.setdefault(kind, []).append(index)

    @property
    def kinds(self) -> set[str]:
        return set(self._by_kind)

    @property
    def schema(self) -> str:
        return "".join(sorted({detector.schema for _rule, detector in self.detectors}))

    def judge(self, judging: Judging, fact: Fact, raise_hit: Callable[[RuleSpec, Hit], None]) -> None:
        for index in self._by_kind.get(fact.kind, ()):
            rule, detector = self.detectors[index]
            try:
                hits = detector.judge(judging, fact)
            except Exception:  # one odd fact must not stop every rule for ever
                log.exception("rule %s could not judge %s (%s); skipped", rule.name, fact.ref, fact.kind)
                continue
            for hit in hits:
                raise_hit(rule, hit)

    def prune(self, tx: sqlite3.Connection, before_ms: int) -> None:
        for _rule, detector in self.detectors:
            detector.prune(tx, before_ms)


class AnomalyWatch:
    def __init__(self, store: SupervisionStore, book: AnomalyBook, rules: AnomalyRules, feeds: Sequence[Feed],
                 horizons: Horizons, *, cases: CaseHistory, calendar: WorkCalendar, ladder: Ladder,
                 pseudonym: Pseudonym) -> None:
        self.store = store
        self.book = book
        self.rulebook = Rulebook(rules.enabled())
        self.feeds = list(feeds)
        self.horizons = horizons
        self.cases = cases
        self.calendar = calendar
        self.ladder = ladder
        self.pseudonym = pseudonym
        store.ensure(SCHEMA + self.rulebook.schema)

    def tick(self, now_ms: int) -> TickReport:
        """Read what arrived, judge what may be judged, raise what the rules found."""
        report = TickReport()
        for feed in self.feeds:
            report.read += self._read(feed)
        horizons = self.horizons(now_ms)
        for source in self._waiting_sources():
            horizon = horizons.get(source)
            if horizon is not None:
                report.judged += self._judge_source(source, horizon, now_ms, report.raised)
        with self.store.transaction() as tx:
            self.rulebook.prune(tx, now_ms)
            report.waiting = int(tx.execute("SELECT count(*) FROM anomaly_pending").fetchone()[0])
        if report.raised:
            log.info("anomaly rules raised %d: %s", len(report.raised),
                     ", ".join(f"{r.id} {r.rule}" for r in report.raised))
        return report

    def _read(self, feed: Feed) -> int:
        read = 0
        for _ in range(MAX_READS_PER_TICK):
            with self.store.transaction() as tx:
                row = tx.execute("SELECT position FROM anomaly_cursors WHERE feed = ?",
                                 (feed.name,)).fetchone()
                position = int(row[0]) if row else 0
                facts, moved = feed.read(position, READ_BATCH)
                tx.executemany("INSERT INTO anomaly_pending (source, at, fact) VALUES (?, ?, ?)",
                               [(f.source, f.at, f.to_json()) for f in facts if self._wanted(f)])
                tx.execute("INSERT INTO anomaly_cursors (feed, position) VALUES (?, ?) ON CONFLICT (feed) "
                           "DO UPDATE SET position = excluded.position", (feed.name, moved))
            read += len(facts)
            if moved == position or len(facts) < READ_BATCH:
                return read
        return read

    def _wanted(self, fact: Fact) -> bool:
        return fact.kind in self.rulebook.kinds or fact.kind == "case.corrected"

    def _waiting_sources(self) -> list[str]:
        return [row[0] for row in self.store.query("SELECT DISTINCT source FROM anomaly_pending")]

    def _judge_source(self, source: str, horizon: int, now_ms: int, raised: list[Raised]) -> int:
        judged = 0
        while True:
            with self.store.transaction() as tx:
                rows = tx.execute("SELECT id, fact FROM anomaly_pending WHERE source = ? AND at <= ? "
                                  "ORDER BY at, id LIMIT ?", (source, horizon, JUDGE_BATCH)).fetchall()
                judging = Judging(tx, self.cases, self.calendar, self.ladder, self.pseudonym)
                for _id, text in rows:
                    self._judge(judging, Fact.from_json(text), now_ms, raised)
                tx.executemany("DELETE FROM anomaly_pending WHERE id = ?", [(row[0],) for row in rows])
            judged += len(rows)
            if len(rows) < JUDGE_BATCH:
                return judged

    def _judge(self, judging: Judging, fact: Fact, now_ms: int, raised: list[Raised]) -> None:
        def raise_hit(rule: RuleSpec, hit: Hit) -> None:
            new = self.book.raise_hit(judging.tx, rule, hit, now_ms)
            if new is not None:
                raised.append(new)

        if fact.kind == "case.corrected":
            # Told before the rules judge it: a hit this correction raises is not "corrected since".
            self.book.note_correction(judging.tx, fact, now_ms)
        self.rulebook.judge(judging, fact, raise_hit)
