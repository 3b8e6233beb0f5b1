"""The anomaly watch's own cost on SQLite beside PostgreSQL, in one run: a pass and an idle tick.

    python -m bench.anomaly_watch [FACTS] [RUNS]

FACTS rating and queue facts of one busy hall (12 windows; ratings mostly 非常满意, so the
starter rule `rating_bursts` raises many anomalies, and skips and call-backs that
`queue_bending` counts) are handed to the real watch (`AnomalyWatch`, every starter rule on,
the real `AnomalyBook` and its hash-chained log) through an in-memory feed, so the figure is
the watch's alone: parking the facts, judging them in batches, the rules' state and the
anomalies raised, committed. Then the idle tick: the same watch ticking with nothing new
(median of 50 ticks).

SQLite is a supervision file in WAL mode as central opens it; PostgreSQL 15 is a throwaway
cluster the bench starts itself (`tests.pgcluster`, fsync and synchronous_commit on), a fresh
database migrated to the newest revision each run. Runs alternate (SQLite, PostgreSQL, ...)
so a burst of load from another process falls on both; each figure is the median of RUNS
runs (3). The target (the pass on PostgreSQL within 2x of SQLite) is printed beside it.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

from bench._common import load, median
from central import migrations
from central.anomalies.book import AnomalyBook
from central.anomalies.facts import Fact
from central.anomalies.judging import MemoryCases
from central.anomalies.table import default_rules
from central.anomalies.watch import AnomalyWatch
from central.cases.calendar import load_calendar
from central.cases.rules import default_rules as case_rules
from central.supervision_store import SupervisionStore
from spine.engines import open_engine
from spine.storeurl import StoreUrl
from tests.pgcluster import throwaway_cluster

HALL = "hall-01"
T0 = 1_795_000_000_000
TARGET = 2.0
"""The pass on PostgreSQL within this many times SQLite's."""
IDLE_TICKS = 50


class Facts:
    """A feed over a list of facts, read forward from a position (as the event feed is)."""

    name = "events"

    def __init__(self, facts: list[Fact]) -> None:
        self.facts = facts

    def read(self, after: int, limit: int) -> tuple[list[Fact], int]:
        chunk = self.facts[after:after + limit]
        return chunk, after + len(chunk)


def hall_facts(count: int) -> list[Fact]:
    """`count` facts of a busy hall, in time order: 9 in 10 ratings, the rest calls and no-shows."""
    rng = random.Random(17)
    facts, at = [], T0
    for n in range(count):
        at += rng.randrange(1_000, 8_000)
        window = f"w{rng.randrange(12) + 1:02d}"
        day = "2026-11-19"
        if n % 10:
            grade = rng.choices(("very_satisfied", "satisfied", "dissatisfied"), (85, 12, 3))[0]
            facts.append(Fact("rating.recorded", at, f"hall:{HALL}", f"event:{n}",
                              {"window": window, "grade": grade, "officer": f"off-{window}",
                               "department": "民政局"}, hall=HALL))
        elif n % 20:
            facts.append(Fact("queue.called", at, f"hall:{HALL}", f"event:{n}",
                              {"window": window, "day": day, "call_back": rng.random() < 0.3}, hall=HALL))
        else:
            facts.append(Fact("queue.no_show", at, f"hall:{HALL}", f"event:{n}",
                              {"window": window, "day": day, "called_at": at - rng.choice((8_000, 90_000))},
                              hall=HALL))
    return facts


def migrated(url: StoreUrl) -> StoreUrl:
    engine = open_engine(url)
    with engine.connect() as connection:
        migrations.upgrade(connection)
    engine.dispose()
    return url


def measure(where: Path | StoreUrl, facts: list[Fact]) -> tuple[float, float, int]:
    """Seconds for one pass over `facts`, milliseconds for an idle tick, anomalies raised."""
    store = SupervisionStore(where)
    rules = case_rules()
    watch = AnomalyWatch(store, AnomalyBook(store), default_rules(), [Facts(facts)],
                         lambda now: {f"hall:{HALL}": now}, cases=MemoryCases(), calendar=load_calendar(None),
                         ladder=rules.ladder, pseudonym=lambda _case, _phone: None)
    now = facts[-1].at + 60_000
    try:
        start = time.perf_counter()
        report = watch.tick(now)
        seconds = time.perf_counter() - start
        assert report.judged == len(facts), report
        idle = []
        for _ in range(IDLE_TICKS):
            start = time.perf_counter()
            watch.tick(now)
            idle.append(time.perf_counter() - start)
        return seconds, median(idle) * 1000, len(report.raised)
    finally:
        store.close()


def main() -> None:
    # `python -m bench anomaly_watch` leaves the module's name among the arguments.
    numbers = [int(a) for a in sys.argv[1:] if a.isdigit()]
    count = numbers[0] if numbers else 20_000
    runs = numbers[1] if len(numbers) > 1 else 3
    facts = hall_facts(count)
    print(f"{count:,} rating and queue facts, one pass each, {runs} alternated runs ({load()})", flush=True)
    passes: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
    idles: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
    raised: dict[str, int] = {}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR", ".")) as tmp, \
            throwaway_cluster(durable=True) as cluster:
        for run in range(runs):
            for name in passes:
                where = Path(tmp) / f"supervision-{run}.sqlite" if name == "sqlite" \
                    else migrated(cluster.new_database())
                seconds, idle, raised[name] = measure(where, facts)
                passes[name].append(seconds)
                idles[name].append(idle)
                print(f"  run {run + 1}: {name:10} pass {seconds:6.2f} s  idle tick {idle:6.2f} ms  "
                      f"{raised[name]:,} anomalies raised", flush=True)
    assert raised["sqlite"] == raised["postgresql"], raised
    sqlite, postgresql = median(passes["sqlite"]), median(passes["postgresql"])
    print(f"  pass:      SQLite {sqlite:.2f} s, PostgreSQL {postgresql:.2f} s: {postgresql / sqlite:.2f}x "
          f"(target {TARGET}x: {'met' if postgresql <= TARGET * sqlite else 'NOT met'}); "
          f"{count / postgresql:,.0f} facts/s on PostgreSQL")
    print(f"  idle tick: SQLite {median(idles['sqlite']):.2f} ms, "
          f"PostgreSQL {median(idles['postgresql']):.2f} ms")
    print(f"  ({load()})")


if __name__ == "__main__":
    main()
