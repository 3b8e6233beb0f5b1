"""Countdown engine benchmark: a million open cases, each figure beside a naive baseline.

Run: `.venv/bin/python -m bench.countdown` (BENCH_CASES=100000 for a quick run).
Every baseline is measured in the same run on the same data; where the naive
way would take minutes it is measured on a sample and scaled, and says so.
The ticks run on SQLite and, beside it, on PostgreSQL (a throwaway cluster the bench
starts itself with `fsync` on, `tests.pgcluster`; BENCH_POSTGRESQL=0 leaves it out),
with where a tick's time goes.
"""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from central import migrations
from central.cases import daycounts, opencounts, projection
from central.cases.batch import evaluate
from central.cases.calendar import WorkCalendar, load_calendar
from central.cases.engine import Engine
from central.cases.eventlog import CaseLog
from central.cases.naive import naive_next_change, naive_stage_at
from central.cases.projection import clock_from_row
from central.cases.rules import default_rules
from central.cases.timebase import day_from_date, day_of, midnight, parse_instant
from central.chain import canonical_body, verify_chain
from spine.engines import open_engine
from spine.sqlite import Transaction, open_database
from spine.storeurl import StoreUrl
from tests.pgcluster import throwaway_cluster

NOW = parse_instant("2026-11-26T10:00")  # Thu; Fri 11-27 is a working day
TOMORROW = midnight(day_of(NOW) + 1)
DUE_TOMORROW = 10_000


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def _row(label: str, ours: str, baseline: str) -> None:
    print(f"{label:<46} {ours:>24}   naive: {baseline}", flush=True)


def _rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"


def _generate(n: int, calendar: WorkCalendar, rng: random.Random) -> list[tuple[Any, ...]]:
    """Clock rows (accepted_at, amount, unit, holds, completed_at, confirmed_at).

    The first DUE_TOMORROW cases change light at tomorrow's midnight (half turn
    yellow, half get a yellow card); the rest are at least two working days
    from their next change, so a tick at tomorrow's midnight has exactly that much work.
    """
    today = day_of(NOW)
    rows: list[tuple[Any, ...]] = []
    for i in range(n):
        if i < DUE_TOMORROW:
            limit = rng.choice((5, 10, 20))
            k = limit - 2 if i % 2 else limit
            accepted_day = calendar.nth_before(today, k)
            rows.append((midnight(accepted_day) + 9 * 3600, limit, "workdays", None, None, None))
            continue
        kind = rng.random()
        if kind < 0.86:
            limit = rng.choice((10, 15, 20, 20, 20))
            k = rng.randint(0, limit - 4)
            accepted = midnight(calendar.nth_before(today, k)) + rng.randrange(8 * 3600, 17 * 3600)
            rows.append((min(accepted, NOW - 60), limit, "workdays", None, None, None))
        elif kind < 0.96:
            limit, unit = (2, "months") if kind < 0.92 else (60, "days")
            accepted = NOW - rng.randrange(3600, 5 * 86400)
            rows.append((accepted, limit, unit, None, None, None))
        else:
            accepted = midnight(calendar.nth_before(today, 3)) + 10 * 3600
            start = accepted + 3600
            end = None if kind < 0.98 else start + 2 * 86400
            holds = f"[[{start}, {'null' if end is None else end}]]"
            rows.append((accepted, 20, "workdays", holds, None, None))
    return rows


def bench_cold_start(rows: list[tuple[Any, ...]], calendar: WorkCalendar, n: int) -> list[Any]:
    ladder = default_rules().ladder
    seconds, results = _timed(lambda: list(evaluate(rows, calendar, ladder, NOW)))
    sample = rows[:: max(1, len(rows) // 20000)][:20000]
    is_workday = _set_lookup(calendar)

    def naive() -> None:
        for row in sample:
            clock = clock_from_row(row)
            naive_stage_at(clock, is_workday, ladder.offsets, NOW)
            naive_next_change(clock, is_workday, ladder.offsets, NOW)

    naive_seconds, _ = _timed(naive)
    scaled = naive_seconds / len(sample) * n
    _row(f"cold-start evaluation, {n:,} open cases", f"{seconds:.2f} s",
         f"{scaled:.1f} s (day-by-day loop, O(1) day lookups; "
         f"{len(sample):,} measured, scaled)")
    return results


def _set_lookup(calendar: WorkCalendar) -> Callable[[date], bool]:
    """A fair naive calendar: one hash lookup per day (chinesecalendar's own is far slower)."""
    workdays = {date.fromordinal(d + date(1970, 1, 1).toordinal())
                for d in calendar.tables()[3]}
    years = set(calendar.years)

    def is_workday(value: date) -> bool:
        if value.year not in years:
            raise LookupError(value)
        return value in workdays

    return is_workday


def _load_store(path: Path, rows: list[tuple[Any, ...]], results: list[Any]) -> float:
    """Bench-only bulk load of the projection (the log is exercised by the ticks and appends)."""
    engine = Engine.open(path, clock=lambda: NOW)
    connection = engine.store.connection
    assert isinstance(connection, sqlite3.Connection)

    def load() -> None:
        with Transaction(connection):
            connection.executemany(
                "INSERT INTO cases (case_id, hall, unit, matter, officer, accepted_at,"
                " limit_amount, limit_unit, holds, completed_at, confirmed_at, file, digest,"
                " stage, next_at, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', '',"
                " ?, ?, 0)",
                (
                    (f"BENCH-{i:07d}", f"hall-{i % 8}", f"unit-{i % 40}", f"matter-{i % 200}",
                     f"officer-{i % 3000}", *row, stage.value, next_at)
                    for i, (row, (stage, next_at)) in enumerate(zip(rows, results, strict=True))
                ),
            )

    seconds, _ = _timed(load)
    engine.close()
    return seconds


def _scan_everything(path: Path, calendar: WorkCalendar, at: int) -> int:
    """The naive engine: read every open case and evaluate it, to find what changed."""
    connection = sqlite3.connect(path)
    ladder = default_rules().ladder
    rows = connection.execute(
        "SELECT accepted_at, limit_amount, limit_unit, holds, completed_at, confirmed_at, stage"
        " FROM cases WHERE confirmed_at IS NULL"
    ).fetchall()
    changed = sum(
        stage.value != row[6]
        for row, (stage, _) in zip(rows, evaluate((r[:6] for r in rows), calendar, ladder, at),
                                   strict=True)
    )
    connection.close()
    return changed


def bench_ticks(rows: list[tuple[Any, ...]], results: list[Any], calendar: WorkCalendar,
                n: int, directory: Path) -> None:
    path = directory / "cases.sqlite"
    load_seconds = _load_store(path, rows, results)
    print(f"  (bulk-loaded {n:,} cases into SQLite in {load_seconds:.1f} s)", flush=True)
    open_seconds, engine = _timed(lambda: Engine.open(path, clock=lambda: NOW))
    first_seconds, report = _timed(lambda: engine.tick(NOW))
    scan_seconds, _ = _timed(lambda: _scan_everything(path, calendar, NOW))
    _row("engine cold start: open + first tick", f"{open_seconds + first_seconds:.3f} s",
         f"{scan_seconds:.2f} s (read and evaluate every open case)")
    assert report.processed == 0, report.processed
    idle_seconds, report = _timed(lambda: engine.tick(NOW + 60))
    _row("tick with nothing due", f"{idle_seconds * 1000:.2f} ms",
         f"{scan_seconds:.2f} s (same scan)")
    scan_due_seconds, changed = _timed(lambda: _scan_everything(path, calendar, TOMORROW))
    watch = _watching(engine)
    due_seconds, report = _timed(lambda: engine.tick(TOMORROW))
    _row(f"tick with {report.processed:,} due", f"{due_seconds:.2f} s",
         f"{scan_due_seconds:.2f} s (scan finding {changed:,} changed; no writes counted)")
    print(f"  (that tick issued {len(report.issued):,} escalations/reminders, "
          f"{len(report.changes):,} lights changed; {watch.say(due_seconds)})", flush=True)
    _unwatch()
    engine.close()


def _bench_rows(rows: list[tuple[Any, ...]], results: list[Any]) -> Any:
    """The projection's rows as `_load_store` writes them (file and digest left empty)."""
    return ((f"BENCH-{i:07d}", f"hall-{i % 8}", f"unit-{i % 40}", f"matter-{i % 200}",
             f"officer-{i % 3000}", *row, "{}", "", stage.value, next_at, 0)
            for i, (row, (stage, next_at)) in enumerate(zip(rows, results, strict=True)))


_COLUMNS = ("case_id, hall, unit, matter, officer, accepted_at, limit_amount, limit_unit, holds,"
            " completed_at, confirmed_at, file, digest, stage, next_at, last_seq")


def _load_postgresql(url: StoreUrl, rows: list[tuple[Any, ...]], results: list[Any]) -> float:
    """Bench-only bulk load of the projection with COPY, then ANALYZE (as a restore would).

    The counts' triggers are off during the COPY and the counts made after it in one grouped
    count each, as revisions 0012 and 0013 count a populated database: the day counts' row
    trigger alone made the load of a million cases take over 20 minutes on this machine."""
    def load() -> None:
        with psycopg.connect(host=url.host, port=url.port, user=url.user, dbname=url.database) as db:
            with db.cursor() as cursor:
                cursor.execute("SET session_replication_role = replica")
                with cursor.copy(f"COPY cases ({_COLUMNS}) FROM STDIN") as copy:
                    for row in _bench_rows(rows, results):
                        copy.write_row(row)
                cursor.execute("SET session_replication_role = origin")
                cursor.execute(daycounts.backfill())
                cursor.execute(opencounts.BACKFILL)
            db.commit()
            db.autocommit = True
            db.execute("ANALYZE cases")

    seconds, _ = _timed(load)
    return seconds


class _Stopwatch:
    """Where a tick's time goes: the store's steps wrapped, their seconds added up."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.spent[label] += time.perf_counter() - start

        setattr(owner, name, timed)

    def say(self, total: float) -> str:
        judged = self.spent["judge and write"] - sum(
            self.spent[label] for label in ("read issued keys", "write log", "write issued keys",
                                            "write lights"))
        parts = {"read due rows": self.spent["read due rows"],
                 "read issued keys": self.spent["read issued keys"], "judge (Python)": judged,
                 **{label: self.spent[label] for label in ("write log", "write issued keys",
                                                           "write lights")}}
        parts["begin, lock, sources, commit"] = total - self.spent["read due rows"] \
            - self.spent["judge and write"]
        return ", ".join(f"{label} {seconds * 1000:.0f} ms" for label, seconds in parts.items())


def _watching(engine: Engine) -> _Stopwatch:
    watch = _Stopwatch()
    store = engine.store
    watch.wrap(store.projector, "due_rows", "read due rows")
    watch.wrap(store.projector, "refresh_rows", "judge and write")
    watch.wrap(store.log, "insert_many", "write log")
    watch.wrap(projection._ISSUED_AMONG, "run", "read issued keys")
    watch.wrap(projection._ISSUED_ALL, "write", "write issued keys")
    watch.wrap(projection._UPDATE_ALL, "write", "write lights")
    return watch


def _unwatch() -> None:
    """The module's statements as they were (their wrappers are instance attributes)."""
    for rows in (projection._ISSUED_ALL, projection._UPDATE_ALL):
        vars(rows).pop("write", None)
    vars(projection._ISSUED_AMONG).pop("run", None)


def bench_ticks_postgresql(rows: list[tuple[Any, ...]], results: list[Any], n: int) -> None:
    with throwaway_cluster(durable=True) as cluster:
        url = cluster.new_database()
        engine = open_engine(url)
        with engine.connect() as connection:
            migrations.upgrade(connection)
        engine.dispose()
        load_seconds = _load_postgresql(url, rows, results)
        print(f"  (bulk-loaded {n:,} cases into PostgreSQL with COPY in {load_seconds:.1f} s)",
              flush=True)
        open_seconds, cases = _timed(lambda: Engine.open(url, clock=lambda: NOW))
        first_seconds, report = _timed(lambda: cases.tick(NOW))
        assert report.processed == 0, report.processed
        _row("PostgreSQL: engine cold start: open + first tick",
             f"{open_seconds + first_seconds:.3f} s", "-")
        idle_seconds, report = _timed(lambda: cases.tick(NOW + 60))
        _row("PostgreSQL: tick with nothing due", f"{idle_seconds * 1000:.2f} ms", "-")
        watch = _watching(cases)
        due_seconds, report = _timed(lambda: cases.tick(TOMORROW))
        _row(f"PostgreSQL: tick with {report.processed:,} due", f"{due_seconds:.2f} s",
             "target under 2 s")
        print(f"  (that tick issued {len(report.issued):,} escalations/reminders, "
              f"{len(report.changes):,} lights changed; {watch.say(due_seconds)})", flush=True)
        _unwatch()
        cases.close()


def bench_working_days(calendar: WorkCalendar, rng: random.Random) -> None:
    from chinese_calendar import is_workday as package_is_workday

    fair_is_workday = _set_lookup(calendar)
    first, last = day_from_date(date(2005, 1, 1)), day_from_date(date(2025, 12, 1))
    pairs = [(rng.randrange(first, last), rng.randint(1, 60)) for _ in range(200_000)]
    seconds, _ = _timed(lambda: [calendar.nth_after(day, n) for day, n in pairs])

    def naive(day: int, n: int, is_workday: Callable[[date], bool]) -> int:
        value = date.fromordinal(day + date(1970, 1, 1).toordinal())
        one = value.resolution
        while n:
            value += one
            n -= is_workday(value)
        return day_from_date(value)

    sample = pairs[:20000]
    naive_seconds, naive_days = _timed(
        lambda: [naive(day, n, fair_is_workday) for day, n in sample])
    assert naive_days == [calendar.nth_after(day, n) for day, n in sample]
    _row("add N working days (N = 1..60)", _rate(len(pairs), seconds),
         f"{_rate(len(sample), naive_seconds)} (loop over days, O(1) day lookups)")
    small = sample[:2000]
    package_seconds, _ = _timed(lambda: [naive(day, n, package_is_workday) for day, n in small])
    print(f"  (the same loop calling chinesecalendar.is_workday per day: "
          f"{_rate(len(small), package_seconds)})", flush=True)


def bench_log(directory: Path) -> None:
    events, batch = 100_000, 1000
    body = {"case_id": "JQ-2026-0001", "kind": "yellow_card", "unit": "民政局",
            "officer_name": "李四", "due_day": "2026-11-30"}
    chained_db = open_database(directory / "chain.sqlite")
    log = CaseLog(chained_db)

    def chained() -> None:
        for start in range(0, events, batch):
            with Transaction(chained_db):
                for i in range(start, start + batch):
                    log.append(f"JQ-{i}", "case.escalated", NOW, "engine", body, NOW)

    plain_db = open_database(directory / "plain.sqlite")
    plain_db.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, case_id TEXT, kind TEXT,"
                     " at INTEGER, recorded_at INTEGER, actor TEXT, body TEXT)")

    def plain() -> None:
        # The same write path row by row, minus the chain: what the hashing costs.
        for start in range(0, events, batch):
            with Transaction(plain_db):
                for i in range(start, start + batch):
                    plain_db.execute(
                        "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (i + 1, f"JQ-{i}", "case.escalated", NOW, NOW, "engine",
                         canonical_body(body)),
                    )

    chained_seconds, _ = _timed(chained)
    plain_seconds, _ = _timed(plain)
    _row(f"append to hash-chained log ({batch}/commit)", _rate(events, chained_seconds),
         f"{_rate(events, plain_seconds)} (plain inserts, no chain, same commits)")
    single = 200

    def one_per_commit() -> None:
        for i in range(single):
            with Transaction(chained_db):
                log.append(f"JQ-s{i}", "case.escalated", NOW, "engine", body, NOW)

    single_seconds, _ = _timed(one_per_commit)
    print(f"  (one durable commit per event: {_rate(single, single_seconds)}, fsync-bound)",
          flush=True)
    verify_seconds, report = _timed(lambda: verify_chain(record.link for record in log.records()))
    assert report.ok
    print(f"  (verify {report.checked:,} records: {_rate(report.checked, verify_seconds)})",
          flush=True)


def main() -> None:
    n = int(os.environ.get("BENCH_CASES", "1000000"))
    rng = random.Random(2026)
    calendar = load_calendar()
    print(f"countdown engine, {n:,} open cases, now = 2026-11-26T10:00+08:00", flush=True)
    rows = _generate(n, calendar, rng)
    results = bench_cold_start(rows, calendar, n)
    with tempfile.TemporaryDirectory(prefix="bench-countdown-") as tmp:
        bench_ticks(rows, results, calendar, n, Path(tmp))
        if os.environ.get("BENCH_POSTGRESQL", "1") != "0":
            bench_ticks_postgresql(rows, results, n)
        del rows, results
        bench_working_days(calendar, rng)
        bench_log(Path(tmp))


if __name__ == "__main__":
    main()


