"""The back-test: what a rule would have raised over a stretch of history, before it is switched on.

The same detectors as the watch, fed the same facts in time order, with their
state in a throwaway in-memory file: nothing is recorded, nobody is told.
The answer is how many hits, which ones, and how long it took.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from central.anomalies.casereads import CaseReads
from central.anomalies.facts import Fact, Hit
from central.anomalies.feeds import CaseLogFeed, ComplaintFeed, EventFeed, EventReads, Feed
from central.anomalies.judging import CaseHistory, Judging, LogCases, Pseudonym
from central.anomalies.pseudonyms import Pseudonyms
from central.anomalies.table import RuleSpec
from central.anomalies.watch import SCHEMA, Rulebook
from central.cases.calendar import WorkCalendar
from central.cases.rules import Ladder
from central.supervision_store import SupervisionStore

_CHUNK = 5000
_DAY_MS = 86_400_000


@dataclass
class RuleResult:
    rule: RuleSpec
    hits: list[Hit] = field(default_factory=list)
    facts: int = 0
    """Facts of the kinds the rule reads."""


@dataclass
class Backtest:
    results: list[RuleResult]
    facts: int
    first_at: int | None
    last_at: int | None
    seconds: float


def run_backtest(rules: Sequence[RuleSpec], facts: Iterable[Fact], *, cases: CaseHistory,
                 calendar: WorkCalendar, ladder: Ladder, pseudonym: Pseudonym | None = None) -> Backtest:
    """Judge `facts` (in time order) with `rules`; each hit is counted once per rule and key."""
    started = time.perf_counter()
    store = SupervisionStore.in_memory()
    rulebook = Rulebook(rules)
    store.ensure(SCHEMA + rulebook.schema)
    results = {rule.name: RuleResult(rule) for rule in rules}
    kinds = {rule.name: detector.kinds for rule, detector in rulebook.detectors}
    seen: set[tuple[str, str]] = set()
    pseudonym = pseudonym or Pseudonyms(secrets.token_bytes(32), None)
    count, first, last, pruned_at = 0, None, None, None

    def raise_hit(rule: RuleSpec, hit: Hit) -> None:
        if (rule.name, hit.key) not in seen:
            seen.add((rule.name, hit.key))
            results[rule.name].hits.append(hit)

    iterator = iter(facts)
    while True:
        chunk = [fact for _, fact in zip(range(_CHUNK), iterator, strict=False)]
        if not chunk:
            break
        with store.transaction() as tx:
            judging = Judging(tx, cases, calendar, ladder, pseudonym)
            with rulebook.batch(tx, chunk):
                for fact in chunk:
                    for name, wanted in kinds.items():
                        results[name].facts += fact.kind in wanted
                    rulebook.judge(judging, fact, raise_hit)
            last = chunk[-1].at
            if pruned_at is None or last - pruned_at >= _DAY_MS:
                rulebook.prune(tx, last)
                pruned_at = last
        first = chunk[0].at if first is None else first
        count += len(chunk)
    store.close()
    return Backtest(list(results.values()), count, first, last, time.perf_counter() - started)


def history_facts(cases: CaseReads | None, events: EventReads | None, kinds: set[str],
                  since_ms: int | None = None, until_ms: int | None = None) -> list[Fact]:
    """Every fact of `kinds` kept in central's files, from `since_ms` until `until_ms`, in time order."""
    feeds: list[Feed] = []
    if cases is not None:
        feeds.append(CaseLogFeed(cases, kinds))
    if events is not None:
        feeds += [EventFeed(events, kinds), ComplaintFeed(events, kinds)]
    found: list[Fact] = []
    for feed in feeds:
        position = 0
        while True:
            facts, moved = feed.read(position, _CHUNK)
            found += [f for f in facts if (since_ms is None or f.at >= since_ms)
                      and (until_ms is None or f.at < until_ms)]
            if moved == position:
                break
            position = moved
    found.sort(key=lambda fact: fact.at)  # stable: one feed's facts keep their log order at equal instants
    return found


def store_history(cases: CaseReads | None) -> CaseHistory:
    """The case log of a case store, for rules that read a case's earlier facts."""
    return LogCases(cases)
