"""The anomaly watch: each tick, the facts that arrived since the last one, judged by every rule on.

Incremental: a tick reads each feed forward from its position (never the whole
history), parks what it read in `anomaly_pending`, then hands the rules, in
time order, each parked fact whose source is known complete up to its instant
(`central.anomalies.horizons`); the rest waits for a later tick. Positions,
parked facts, the rules' state and the anomalies they raise all live in the
supervision office's store and commit together, so a crash judges nothing twice and
loses nothing.

Several central processes may tick over one PostgreSQL database: every transaction of
the watch that writes (a feed's facts parked, a batch judged, the rules' pruning) first
takes one advisory lock (`WATCH_LOCK`) and only then reads the cursors or the parked facts
it acts on (a tick peeks at the cursors and at what waits without it, to leave alone what
has nothing new; what it then does under the lock it reads again there). A second
process's pass waits for the first one's COMMIT and reads what it left: the cursor moved
on, the facts judged gone, their anomalies raised. A process killed in a pass loses that
transaction (the server rolls it back and frees the lock with its connection), and the
next tick of any process does it again. On SQLite the file's one write lock does the same.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from central.anomalies.book import AnomalyBook, Raised
from central.anomalies.facts import Fact, Hit
from central.anomalies.feeds import Feed
from central.anomalies.judging import CaseHistory, Judging, Pseudonym
from central.anomalies.table import AnomalyRules, RuleSpec
from central.anomalies.tables import ANOMALY_CURSORS, ANOMALY_PENDING
from central.cases.calendar import WorkCalendar
from central.cases.rules import Ladder
from central.supervision_store import SupervisionStore
from spine.statement import Statement, Tx, insert_for

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
PRUNE_EVERY_MS = 60_000
"""A tick that judged nothing prunes the rules' state at most this often (of `now`): an idle
tick on PostgreSQL was mostly the pruning's statements, one or two per rule."""

WATCH_NAMESPACE = "hallwatch central anomaly watch"


def watch_lock_key() -> int:
    """The watch's advisory-lock key: the first 8 bytes of SHA-256 of `WATCH_NAMESPACE`, big-endian,
    signed (PostgreSQL's bigint); the same in every process and release."""
    return int.from_bytes(hashlib.sha256(WATCH_NAMESPACE.encode("utf-8")).digest()[:8], "big", signed=True)


WATCH_LOCK = watch_lock_key()

_P, _CUR = ANOMALY_PENDING.c, ANOMALY_CURSORS.c
_POSITION = Statement(lambda _dialect: select(_CUR.position).where(_CUR.feed == bindparam("feed")))
_MOVE = Statement(lambda dialect: insert_for(dialect, ANOMALY_CURSORS).values(
    feed=bindparam("feed"), position=bindparam("position")).on_conflict_do_update(
    index_elements=["feed"], set_={"position": bindparam("position")}))
_PARK = Statement(lambda _dialect: ANOMALY_PENDING.insert().values(
    source=bindparam("source"), at=bindparam("at"), fact=bindparam("fact")))
_CURSORS = Statement(lambda _dialect: select(_CUR.feed, _CUR.position))
_WAITING_BY_SOURCE = Statement(lambda _dialect: select(_P.source, func.count(), func.min(_P.at)).group_by(
    _P.source).order_by(_P.source))
_DUE = Statement(lambda _dialect: select(_P.id, _P.fact).where(
    _P.source == bindparam("source"), _P.at <= bindparam("horizon")).order_by(_P.at, _P.id).limit(
    bindparam("limit")))
_JUDGED = Statement(lambda _dialect: delete(ANOMALY_PENDING).where(_P.id == bindparam("id")))

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
            except (sqlite3.Error, SQLAlchemyError):
                raise  # the database, not the fact: the pass rolls back and is done again
            except Exception:  # one odd fact must not stop every rule for ever
                log.exception("rule %s could not judge %s (%s); skipped", rule.name, fact.ref, fact.kind)
                continue
            for hit in hits:
                raise_hit(rule, hit)

    @contextmanager
    def batch(self, tx: Tx, facts: Sequence[Fact]) -> Iterator[None]:
        """Judge `facts` inside: each rule reads the state they touch first and writes what changed
        after (`central.anomalies.keyed`), inside `tx`; a batch that fails writes nothing."""
        for _rule, detector in self.detectors:
            detector.begin(tx, facts)
        try:
            yield
        except BaseException:
            for _rule, detector in self.detectors:
                detector.forget()
            raise
        for _rule, detector in self.detectors:
            detector.end(tx)

    def prune(self, tx: Tx, before_ms: int) -> None:
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
        self._pruned_at: int | None = None
        store.ensure(SCHEMA + self.rulebook.schema)

    def tick(self, now_ms: int) -> TickReport:
        """Read what arrived, judge what may be judged, raise what the rules found.

        An idle tick is three statements of its own: the cursors (`_peek`), what waits, by
        source, with its earliest instant (a source is judged only if that is within its
        horizon), and nothing else unless something arrived, something is due, or pruning is."""
        report = TickReport()
        positions = self._peek()
        for feed in self.feeds:
            report.read += self._read(feed, positions.get(feed.name, 0))
        horizons = self.horizons(now_ms)
        waiting = 0
        for source, count, earliest in self.store.rows(_WAITING_BY_SOURCE):
            waiting += int(count)
            horizon = horizons.get(source)
            if horizon is not None and int(earliest) <= horizon:
                report.judged += self._judge_source(source, horizon, now_ms, report.raised)
        report.waiting = waiting - report.judged  # as this process saw it; another may judge beside
        if report.judged or self._pruned_at is None or now_ms - self._pruned_at >= PRUNE_EVERY_MS:
            with self.store.transaction(holding=(WATCH_LOCK,)) as tx:
                self.rulebook.prune(tx, now_ms)
            self._pruned_at = now_ms
        if report.raised:
            log.info("anomaly rules raised %d: %s", len(report.raised),
                     ", ".join(f"{r.id} {r.rule}" for r in report.raised))
        return report

    def _peek(self) -> dict[str, int]:
        """Every feed's position, in one statement outside the lock: a feed with nothing after it
        is left alone; one with something is read again under the lock (`_read`)."""
        return {str(feed): int(position) for feed, position in self.store.rows(_CURSORS)}

    def _read(self, feed: Feed, peeked: int) -> int:
        facts, moved = feed.read(peeked, READ_BATCH)
        if moved == peeked:
            return 0
        read = 0
        for _ in range(MAX_READS_PER_TICK):
            with self.store.transaction(holding=(WATCH_LOCK,)) as tx:
                row = _POSITION.run(tx, {"feed": feed.name}).fetchone()
                position = int(row[0]) if row else 0
                if position != peeked:  # another process read on meanwhile: read from where it left
                    facts, moved = feed.read(position, READ_BATCH)
                _PARK.run_many(tx, [{"source": f.source, "at": f.at, "fact": f.to_json()}
                                    for f in facts if self._wanted(f)])
                _MOVE.run(tx, {"feed": feed.name, "position": moved})
            read += len(facts)
            if moved == position or len(facts) < READ_BATCH:
                return read
            peeked = moved
            facts, moved = feed.read(peeked, READ_BATCH)
            if moved == peeked:
                return read
        return read

    def _wanted(self, fact: Fact) -> bool:
        return fact.kind in self.rulebook.kinds or fact.kind == "case.corrected"

    def _judge_source(self, source: str, horizon: int, now_ms: int, raised: list[Raised]) -> int:
        judged = 0
        while True:
            with self.store.transaction(holding=(WATCH_LOCK,)) as tx:
                rows = _DUE.run(tx, {"source": source, "horizon": horizon, "limit": JUDGE_BATCH}).fetchall()
                facts = [Fact.from_json(text) for _id, text in rows]
                judging = Judging(tx, self.cases, self.calendar, self.ladder, self.pseudonym)
                batch: list[Raised] = []
                with self.rulebook.batch(tx, facts):
                    self._judge(judging, facts, now_ms, batch)
                _JUDGED.run_many(tx, [{"id": row[0]} for row in rows])
            raised += batch  # reported once committed: a batch rolled back raised nothing
            judged += len(rows)
            if len(rows) < JUDGE_BATCH:
                return judged

    def _judge(self, judging: Judging, facts: Sequence[Fact], now_ms: int, raised: list[Raised]) -> None:
        """The rules on each fact in order; their hits raised together (`AnomalyBook.raise_hits`),
        before a correction is noted and at the end: the log's order is that of one at a time."""
        hits: list[tuple[RuleSpec, Hit]] = []

        def raise_hits() -> None:
            raised.extend(self.book.raise_hits(judging.tx, hits, now_ms))
            hits.clear()

        for fact in facts:
            if fact.kind == "case.corrected":
                # Told before the rules judge it: a hit this correction raises is not "corrected since";
                # one raised by an earlier fact of the batch is, so those are raised first.
                raise_hits()
                self.book.note_correction(judging.tx, fact, now_ms)
            self.rulebook.judge(judging, fact, lambda rule, hit: hits.append((rule, hit)))
        raise_hits()
