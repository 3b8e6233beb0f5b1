"""A province's event side at central, on SQLite beside PostgreSQL: a big log, then what is read of it.

    python -m bench.province [--events N] [--halls H] [--months M] [--only sqlite|postgresql]

Loads N events (300,000 by default: a few minutes; `--events 10000000` for issue #17's
figure) into a fresh central store on each database: H halls (200) over M months (12) of
working days, each visit a ticket issued, called and served (one in ten a no-show), as
`queue.*` events in the append-only `events` table and, as the queue statistics
projection leaves them, one row per visit in `queue_segments`. The rows are generated
and written in bulk (executemany in large transactions on SQLite, binary COPY on
PostgreSQL), not through the ingest: `bench.store_ingest` measures that. Then, with
central's own code for each:

- cold start: a fresh process opens the store (`CentralStore`) and answers its first
  query (one hall's figures for today), timed from just before the open (the Python
  imports, about a second, are not counted; the OS page cache is warm);
- the big screen's summary: one hall's figures for a day (`QueueToday`, what every
  hall's tile on the board shows), p50 and p95 over random halls and days; and the
  whole board's queue part, every hall's figures, asked hall by hall (as `/api/halls`
  asked for them) and at once (`QueueToday.every_hall`, as it asks now);
- the month x unit statistics: a month's queue figures per service, every hall
  together (`queue_statistics(by="service")`, a service being one unit's counter),
  and per hall, p50 and p95 over the months: from `queue_month_figures` (what central
  reads for whole months), and by a scan of the month's segments (what it read before,
  and still reads for other periods).

Issue #17's target: the screen's and the statistics' p95 under 200 ms at 10 million
events. SQLite is a file in WAL mode (`synchronous=FULL`); PostgreSQL 15 a throwaway
cluster (`fsync` on) with its default settings (128 MB of shared buffers).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._common import load
from bench.store_ingest import migrated
from central.cases.timebase import FIXED_SHANGHAI
from central.queue_stats import DEFAULT_WAIT_TARGET_MS, MONTHS_FROM_SEGMENTS, queue_statistics
from central.queue_stats import SCHEMA as QUEUE_SCHEMA
from central.store import EVENT_LOG, CentralStore
from central.web.hallfigures import QueueToday
from spine.clock import SystemClock
from spine.engines import open_engine
from spine.storeurl import StoreUrl
from tests.pgcluster import PgCluster, throwaway_cluster

SERVICES = [f"{letter}" for letter in "ABCDEFGHJKLMNPQRSTUV"]
"""Twenty counters' services (a unit's matters each), by ticket prefix."""
WINDOWS_PER_HALL = 12
EVENTS_PER_VISIT = 3
CHUNK = 60_000
"""Events generated and written at a time (one transaction on SQLite, one COPY on PostgreSQL)."""
EVENT_COLUMNS = ("event_id", *[name for name, _ in EVENT_LOG.columns])
"""Central's `events` columns; names quoted in the SQL below (`window` is a keyword)."""
SEGMENT_COLUMNS = ("hall", "day", "ticket", "seq", "service", "issued_at", "waiting_since", "called_at",
                   "window", "officer", "recalls", "ended_at", "outcome", "service_ms")
TARGET_MS = 200.0
SCAN = {"Z": DEFAULT_WAIT_TARGET_MS}
"""A wait target for a service no one waits for: the same figures, from a scan of the segments
(only it can count a target per service), as every report was made before the month figures."""


def working_days(months: int, last: date) -> list[date]:
    """Weekdays of the `months` months up to `last` (a province's halls open on working days)."""
    first = date(last.year, last.month, 1)
    for _ in range(months - 1):
        first = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    days, day = [], first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _ms(day: date, minute: int) -> int:
    local = datetime(day.year, day.month, day.day, 8, 30, tzinfo=FIXED_SHANGHAI) + timedelta(minutes=minute)
    return int(local.astimezone(UTC).timestamp() * 1000)


def visits(events: int, halls: int, days: list[date], seed: int = 17
           ) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """(event rows, segment rows) in chunks: each hall's day of visits, day after day, the
    events of a day in their order (ids that sort by time, as `time_ordered_id` makes them)."""
    rng = random.Random(seed)
    slots = halls * len(days)
    wanted = events // EVENTS_PER_VISIT
    event_rows: list[tuple[Any, ...]] = []
    segment_rows: list[tuple[Any, ...]] = []
    seq = slot = 0
    for day in days:
        iso = day.isoformat()
        for h in range(1, halls + 1):
            hall = f"hall-{h:04d}"
            gateway = f"gw-{hall}"
            # The visits spread evenly over every hall's every day, whatever the remainder.
            per_hall_day = (slot + 1) * wanted // slots - slot * wanted // slots
            slot += 1
            for n in range(per_hall_day):
                service = SERVICES[rng.randrange(len(SERVICES))]
                ticket = f"{service}{n + 1:03d}"
                window = f"w{rng.randrange(WINDOWS_PER_HALL) + 1:02d}"
                officer = f"{hall}-o{window[1:]}"
                issued = _ms(day, n * 480 // per_hall_day)  # over the hall's eight opening hours
                called = issued + rng.randrange(60_000, 40 * 60_000)
                no_show = rng.random() < 0.1
                spent = rng.randrange(30_000, 120_000) if no_show else rng.randrange(120_000, 1_200_000)
                ended = called + spent
                outcome = "no_show" if no_show else "served"
                service_ms = None if no_show else ended - called
                segment_rows.append((hall, iso, ticket, 1, service, issued, issued, called, window, officer,
                                     0, ended, outcome, service_ms))
                facts = [("queue.ticket_issued", issued, {"day": iso, "ticket": ticket, "service": service}),
                         ("queue.called", called, {"day": iso, "ticket": ticket, "service": service,
                                                   "window": window, "officer": officer, "at": called,
                                                   "issued_at": issued, "waiting_since": issued}),
                         (f"queue.{outcome}", ended, {"day": iso, "ticket": ticket, "window": window,
                                                     "at": ended, **({"service_ms": service_ms}
                                                                     if service_ms else {})})]
                for kind, at, body in facts:
                    seq += 1
                    event_id = f"{at & 0xFFFF_FFFF_FFFF:012x}{rng.getrandbits(80):020x}"
                    device = f"kiosk-{h:04d}" if kind == "queue.ticket_issued" else gateway
                    payload = json.dumps({"v": 1, "id": event_id, "device": device, "seq": seq,
                                          "boot": "boot0001", "time": at, "mono": seq, "type": kind,
                                          "body": body,
                                          "recv": {"by": gateway, "at": at + 40, "est_time": at}},
                                         separators=(",", ":"))
                    event_rows.append((event_id, hall, device, seq, kind, at, at + 40, at, at + 900, payload))
            if len(event_rows) >= CHUNK:
                yield event_rows, segment_rows
                event_rows, segment_rows = [], []
    if event_rows:
        yield event_rows, segment_rows


def _names(columns: tuple[str, ...]) -> str:
    return ", ".join(f'"{name}"' for name in columns)


class Loader:
    """Bulk writes into one database's fresh store."""

    def __init__(self, url: StoreUrl) -> None:
        self.url = url
        CentralStore(url, SystemClock()).close()  # the store's own tables, as it opens them
        self.events = self.segments = 0
        if url.is_sqlite:
            assert url.path is not None
            self._sqlite = sqlite3.connect(url.path, isolation_level=None)
            self._sqlite.execute("PRAGMA synchronous=FULL")
            self._sqlite.executescript(QUEUE_SCHEMA)
        else:
            import psycopg

            self._pg = psycopg.connect(host=url.host, port=url.port, user=url.user, dbname=url.database)

    def write(self, event_rows: list[tuple[Any, ...]], segment_rows: list[tuple[Any, ...]]) -> None:
        if self.url.is_sqlite:
            marks = ", ".join("?" * len(EVENT_COLUMNS))
            self._sqlite.execute("BEGIN")
            self._sqlite.executemany(f"INSERT INTO events ({_names(EVENT_COLUMNS)}) VALUES ({marks})",
                                     event_rows)
            marks = ", ".join("?" * len(SEGMENT_COLUMNS))
            self._sqlite.executemany(
                f"INSERT INTO queue_segments ({_names(SEGMENT_COLUMNS)}) VALUES ({marks})", segment_rows)
            self._sqlite.execute("COMMIT")
        else:
            with self._pg.cursor() as cursor:
                for table, columns, rows in (("events", EVENT_COLUMNS, event_rows),
                                             ("queue_segments", SEGMENT_COLUMNS, segment_rows)):
                    with cursor.copy(f"COPY {table} ({_names(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            self._pg.commit()
        self.events += len(event_rows)
        self.segments += len(segment_rows)

    def finish(self) -> None:
        """The month figures the projection would have moved event by event, summed from the
        segments at once; then statistics for the planner, as ANALYZE (autovacuum) leaves them."""
        if self.url.is_sqlite:
            self._sqlite.execute("BEGIN")
            MONTHS_FROM_SEGMENTS.run(self._sqlite)
            self._sqlite.execute("COMMIT")
            self._sqlite.execute("ANALYZE")
            self._sqlite.close()
        else:
            self._pg.close()
            engine = open_engine(self.url)
            with engine.begin() as connection:
                MONTHS_FROM_SEGMENTS.run(connection)
            engine.dispose()
            import psycopg

            with psycopg.connect(host=self.url.host, port=self.url.port, user=self.url.user,
                                 dbname=self.url.database, autocommit=True) as connection:
                connection.execute("VACUUM ANALYZE")


def size_of(url: StoreUrl, cluster: PgCluster | None) -> str:
    if url.is_sqlite:
        assert url.path is not None
        total = sum(p.stat().st_size for p in url.path.parent.glob(url.path.name + "*"))
    else:
        assert cluster is not None
        import psycopg

        with psycopg.connect(host=url.host, port=url.port, user=url.user, dbname=url.database) as c:
            row = c.execute("SELECT pg_database_size(current_database())").fetchone()
            total = int(row[0]) if row else 0
    return f"{total / 2**30:.2f} GiB"


COLD_START = """
import json, sys, time
from central.store import CentralStore
from central.web.hallfigures import QueueToday
from spine.clock import SystemClock
from spine.engines import open_engine
from spine.storeurl import StoreUrl
url, hall, now = StoreUrl.parse(sys.argv[1]), sys.argv[2], int(sys.argv[3])
started = time.perf_counter()
store = CentralStore(url, SystemClock())
opened = time.perf_counter()
QueueToday(store)(hall, now)
print(json.dumps({"open_ms": (opened - started) * 1000, "first_ms": (time.perf_counter() - opened) * 1000}))
store.close()
"""


def cold_start(url: StoreUrl, hall: str, now_ms: int) -> dict[str, float]:
    # The throwaway cluster trusts its local users: the URL holds no password.
    where = (f"sqlite:///{url.path}" if url.is_sqlite
             else f"postgresql://{url.user}@{url.host}:{url.port}/{url.database}")
    out = subprocess.run([sys.executable, "-c", COLD_START, where, hall, str(now_ms)],
                         check=True, capture_output=True, text=True, timeout=300)
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def timed(action: Callable[[], object], times: int) -> list[float]:
    taken = []
    for _ in range(times):
        started = time.perf_counter()
        action()
        taken.append((time.perf_counter() - started) * 1000)
    return taken


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def describe(values: list[float]) -> str:
    return f"p50 {statistics.median(values):8.1f} ms  p95 {p95(values):8.1f} ms  (n={len(values)})"


def measure(name: str, url: StoreUrl, halls: int, days: list[date], seed: int = 5) -> dict[str, Any]:
    rng = random.Random(seed)
    hall_of = lambda: f"hall-{rng.randrange(1, halls + 1):04d}"  # noqa: E731
    last = days[-1]
    now_ms = _ms(last, 300)
    results: dict[str, Any] = {}
    colds = [cold_start(url, hall_of(), now_ms) for _ in range(3)]
    results["cold"] = {key: statistics.median(c[key] for c in colds) for key in colds[0]}
    print(f"  {name:10} cold start: open {results['cold']['open_ms']:.0f} ms, first query "
          f"{results['cold']['first_ms']:.0f} ms (median of 3 fresh processes)", flush=True)
    store = CentralStore(url, SystemClock())
    try:
        today = QueueToday(store)
        results["screen"] = timed(lambda: today(hall_of(), _ms(rng.choice(days), 300)), 200)
        print(f"  {name:10} screen, one hall's day:   {describe(results['screen'])}", flush=True)
        results["board"] = timed(lambda: [today(f"hall-{h:04d}", now_ms) for h in range(1, halls + 1)], 5)
        print(f"  {name:10} screen, {halls} halls one by one: {describe(results['board'])}", flush=True)
        results["every_hall"] = timed(lambda: today.every_hall(now_ms), 20)
        print(f"  {name:10} screen, {halls} halls at once:   {describe(results['every_hall'])}", flush=True)
        months = sorted({(d.year, d.month) for d in days})

        def month_by(by: str, **options: Any) -> Callable[[], object]:
            def run() -> object:
                year, month = rng.choice(months)
                first = date(year, month, 1).isoformat()
                end = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
                return store.read(lambda tx: queue_statistics(tx, by=by, day_from=first,
                                                              day_to=end.isoformat(), **options))
            return run

        for by in ("service", "hall"):
            results[f"month_{by}"] = timed(month_by(by), 30)
            print(f"  {name:10} month x {by:8} (month figures):    {describe(results[f'month_{by}'])}",
                  flush=True)
            results[f"scan_{by}"] = timed(month_by(by, wait_target_ms=SCAN), 15)
            print(f"  {name:10} month x {by:8} (segments scanned): {describe(results[f'scan_{by}'])}",
                  flush=True)
    finally:
        store.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.province", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--halls", type=int, default=200)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    options = parser.parse_args([a for a in sys.argv[1:] if not a.isidentifier()])
    days = working_days(options.months, date.today() - timedelta(days=1))
    print(f"{options.events:,} events, {options.halls} halls, {len(days)} working days over "
          f"{options.months} months ({load()})", flush=True)
    wanted = [options.only] if options.only else ["sqlite", "postgresql"]
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR", ".")) as tmp, \
            throwaway_cluster(durable=True) as cluster:
        urls = {"sqlite": StoreUrl.sqlite_file(Path(tmp) / "events.sqlite")}
        if "postgresql" in wanted:
            urls["postgresql"] = migrated(cluster.new_database())
        loaders = {name: Loader(urls[name]) for name in wanted}
        spent = {name: 0.0 for name in wanted}
        for event_rows, segment_rows in visits(options.events, options.halls, days):
            for name, loader in loaders.items():
                started = time.perf_counter()
                loader.write(event_rows, segment_rows)
                spent[name] += time.perf_counter() - started
        for name, loader in loaders.items():
            started = time.perf_counter()
            loader.finish()
            analyzed = time.perf_counter() - started
            print(f"  {name:10} loaded {loader.events:,} events, {loader.segments:,} visits in "
                  f"{spent[name]:.0f} s ({loader.events / spent[name]:,.0f} ev/s), analyzed in "
                  f"{analyzed:.0f} s; {size_of(urls[name], cluster)}", flush=True)
        results = {name: measure(name, urls[name], options.halls, days) for name in wanted}
    for name, figures in results.items():
        worst = max(p95(figures[part]) for part in ("screen", "every_hall", "month_service", "month_hall"))
        print(f"  {name:10} worst p95 of the screen and the statistics: {worst:.1f} ms, target "
              f"{TARGET_MS:.0f} ms: {'met' if worst < TARGET_MS else 'NOT met'}")
    print(f"  ({load()})")


if __name__ == "__main__":
    main()
