"""The case side's reads at a province's scale: statistics and the big screen, SQLite beside PostgreSQL.

Run: `.venv/bin/python -m bench.case_reads` (BENCH_CASES=100000 for a quick run).

The data: `bench.countdown`'s million open cases (the same generator and the same judged
lights), and beside them as many closed cases, accepted in October 2026 and completed within
25 days (a month of a province at the rate the open cases imply), of which 6% got a yellow
card, 1.5% a red card and 0.3% a supervision letter (`case_issued` rows). Both stores are
loaded in bulk (executemany on SQLite, COPY on PostgreSQL, then VACUUM ANALYZE as autovacuum
would after a load), then each read is run RUNS times (fewer if it is slow: at most about
BUDGET_S seconds each) and its p50 and p95 printed side by side:

- the case statistics by unit over one month, as `/api/cases/statistics?group_by=unit&since=...
  &until=...` runs them (`EngineCases.statistics`, `central/cases/stats.py`): October (the
  closed month) and November (the open cases' month);
- the big screen's case reads (`SqlTally`, what `build_board` asks for at every refresh): the
  open cases by light and place (from the open counts, and beside it counted from the partial
  index of open cases as before them), the alarm list, today's figures; and this year's
  figures before today, which the board recounts at most every 10 minutes (`YearTotals`);
- the case store's size on disk.

The statistics and the year's figures are also run counting every case of the period, the way
they were read before the day counts (`central.cases.daycounts`), and the open cases counted
one by one, as before the open counts (`central.cases.opencounts`): each must give the same
answers.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import func, select

from bench.countdown import NOW, _generate, _timed
from central import migrations
from central.cases import cardcounts, stats
from central.cases.batch import evaluate
from central.cases.calendar import load_calendar
from central.cases.daycounts import backfill, ensure_counts
from central.cases.engine import Engine
from central.cases.opencounts import BACKFILL as OPEN_BACKFILL
from central.cases.opencounts import SQLITE_TRIGGER_NAMES as OPEN_TRIGGERS
from central.cases.opencounts import ensure_open_counts
from central.cases.rules import default_rules
from central.cases.tables import CASES
from central.cases.timebase import day_of, midnight, parse_instant
from central.web.caseadapter import EngineCases
from central.web.caseport import CaseFilter
from central.web.screen import sqltally
from central.web.screen.board import CASE_ALARMS
from central.web.screen.sqltally import SqlTally
from central.web.screen.tally import Place, PlaceCount
from spine.engines import open_engine
from spine.sqlite import Transaction, open_database
from spine.storeurl import StoreUrl
from tests.pgcluster import throwaway_cluster

RUNS = int(os.environ.get("BENCH_RUNS", "50"))
BUDGET_S = float(os.environ.get("BENCH_BUDGET_S", "20"))
OCTOBER = (parse_instant("2026-10-01T00:00"), parse_instant("2026-11-01T00:00"))
NOVEMBER = (parse_instant("2026-11-01T00:00"), parse_instant("2026-12-01T00:00"))
CARDS = (("yellow_card", 0.06, "yellow_card_at"), ("red_card", 0.015, "red_card_at"),
         ("supervision_letter", 0.003, "supervision_letter_at"))
ALARMS = {"yellow_card": "yellow_card_at", "red_card": "red_card_at",
          "supervision_letter": "supervision_letter_at"}

CASE_COLUMNS = ("case_id", "hall", "unit", "matter", "officer", "accepted_at", "limit_amount",
                "limit_unit", "holds", "completed_at", "confirmed_at", "file", "digest", "stage",
                "due_day", "yellow_card_at", "red_card_at", "supervision_letter_at", "on_time",
                "days_taken", "next_at", "last_seq")
ISSUED_COLUMNS = ("case_id", "kind", "due_at", "seq", "escalation")


def _place(i: int) -> tuple[str, str, str, str]:
    return f"hall-{i % 8}", f"unit-{i % 40}", f"matter-{i % 200}", f"officer-{i % 3000}"


def _open_cases(n: int, rng: random.Random) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """Open cases with the card or letter of the stage they stand on: (case row, issued rows)."""
    rows = _generate(n, load_calendar(), rng)
    judged = evaluate(rows, load_calendar(), default_rules().ladder, NOW)
    for i, ((accepted, amount, unit, holds, _, _), (stage, next_at)) in enumerate(
            zip(rows, judged, strict=True)):
        # The instant its alarm began, for the alarm list's order (the step's column).
        steps = [accepted + 86400 if ALARMS.get(stage.value) == column else None
                 for column in ("yellow_card_at", "red_card_at", "supervision_letter_at")]
        case_id = f"OPEN-{i:07d}"
        issued = [(case_id, stage.value, accepted + 86400, i + 1, 1)] if stage.value in ALARMS else []
        yield ((case_id, *_place(i), accepted, amount, unit, holds, None, None, "{}", "",
                stage.value, day_of(accepted) + 20, *steps, None, None, next_at, 0), issued)


def _closed_cases(n: int, rng: random.Random) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """Closed cases of October with their issued cards: (case row, issued rows)."""
    first, last = OCTOBER
    for i in range(n):
        case_id = f"DONE-{i:07d}"
        accepted = rng.randrange(first + 8 * 3600, last)
        completed = accepted + rng.randrange(3600, 25 * 86400)
        issued: list[tuple[Any, ...]] = []
        steps: list[int | None] = []
        for kind, share, _ in CARDS:
            due = accepted + rng.randrange(86400, 20 * 86400)
            if rng.random() < share and due < completed:
                issued.append((case_id, kind, due, i + 1, 1))
                # One in a hundred has had its dates corrected since: the stage two days later
                # (a card pushed past its due, or disowned for good if it was done before).
                steps.append(due + 2 * 86400 if rng.random() < 0.01 else due)
            else:
                steps.append(None)
        on_time = int(not issued and rng.random() < 0.97)
        yield ((case_id, *_place(i), accepted, 20, "workdays", None, completed, completed, "{}", "",
                "completed", day_of(accepted) + 28, *steps, on_time,
                (completed - accepted) // 86400, None, i + 1), issued)


def _all_rows(n_open: int, n_closed: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    rng = random.Random(2026)
    cases: list[tuple[Any, ...]] = []
    issued: list[tuple[Any, ...]] = []
    for row, its in (*_open_cases(n_open, rng), *_closed_cases(n_closed, rng)):
        cases.append(row)
        issued.extend(its)
    return cases, issued


def _load_sqlite(path: Path, cases: list[tuple[Any, ...]], issued: list[tuple[Any, ...]]) -> None:
    Engine.open(path, clock=lambda: NOW).close()  # the store's own schema
    connection = open_database(path)
    # The day counts and the open counts made after the load, as a store opened since they
    # exist makes them (one grouped count each, where the triggers would update them row by
    # row through the load).
    connection.executescript("DROP TABLE case_day_counts; DROP TRIGGER cases_counted_insert;"
                             " DROP TRIGGER cases_counted_delete; DROP TRIGGER cases_counted_update;"
                             " DROP TABLE case_open_counts;"
                             + "".join(f" DROP TRIGGER {name};" for name in OPEN_TRIGGERS)
                             + " DROP TABLE case_card_counts; DROP TABLE case_cards_pushed;"
                             + "".join(f" DROP TRIGGER {name};" for name in cardcounts.TRIGGER_NAMES))
    with Transaction(connection):
        connection.executemany(
            f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) VALUES"
            f" ({', '.join('?' * len(CASE_COLUMNS))})", cases)
        connection.executemany(
            f"INSERT INTO case_issued ({', '.join(ISSUED_COLUMNS)}) VALUES"
            f" ({', '.join('?' * len(ISSUED_COLUMNS))})", issued)
    ensure_counts(connection)
    ensure_open_counts(connection)
    cardcounts.ensure_card_counts(connection)
    connection.execute("ANALYZE")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


def _load_postgresql(url: StoreUrl, cases: list[tuple[Any, ...]], issued: list[tuple[Any, ...]]) -> None:
    engine = open_engine(url)
    with engine.connect() as connection:
        migrations.upgrade(connection)
    engine.dispose()
    with psycopg.connect(host=url.host, port=url.port, user=url.user, dbname=url.database) as db:
        with db.cursor() as cursor:
            # As a restore (or `move-cases` into a database at revision 0011) would be counted:
            # the rows first, the triggers off, then revisions 0012's and 0013's grouped counts.
            cursor.execute("SET session_replication_role = replica")
            # And the indexes made after the rows, as pg_restore makes them: maintaining eight
            # B-trees row by row made the load of two million cases take over ten minutes.
            indexes = cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('cases', 'case_issued')"
                " AND indexname NOT LIKE '%pkey'").fetchall()
            for name, _ in indexes:
                cursor.execute(f"DROP INDEX {name}")
            for table, columns, rows in (("cases", CASE_COLUMNS, cases),
                                         ("case_issued", ISSUED_COLUMNS, issued)):
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            for _, definition in indexes:
                cursor.execute(definition)
            cursor.execute("SET session_replication_role = origin")
            cursor.execute(backfill())
            cursor.execute("DELETE FROM case_open_counts")  # (none: made by revision 0013)
            cursor.execute(OPEN_BACKFILL)
            for statement in cardcounts.backfill():
                cursor.execute(statement)
        db.commit()
        db.autocommit = True
        db.execute("VACUUM ANALYZE cases")
        db.execute("VACUUM ANALYZE case_issued")
        db.execute("VACUUM ANALYZE case_day_counts")
        db.execute("VACUUM ANALYZE case_open_counts")
        db.execute("VACUUM ANALYZE case_card_counts")
        db.execute("VACUUM ANALYZE case_cards_pushed")


WRITES = 20_000


def _more_cases(start: int) -> list[tuple[Any, ...]]:
    """WRITES more closed cases of October (their figures are not read after this)."""
    return [(f"MORE-{start + i:07d}", *row[1:]) for i, (row, _) in enumerate(
        _closed_cases(WRITES, random.Random(start)))]


def _write_cost_sqlite(path: Path) -> str:
    """What the counts' triggers cost a writer: WRITES cases inserted with them, then without."""
    connection = open_database(path)
    insert = (f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) VALUES"
              f" ({', '.join('?' * len(CASE_COLUMNS))})")

    def write(rows: list[tuple[Any, ...]]) -> None:
        with Transaction(connection):
            connection.executemany(insert, rows)

    counted, _ = _timed(lambda: write(_more_cases(0)))
    for trigger in ("cases_counted_insert", "cases_counted_delete", "cases_counted_update",
                    *OPEN_TRIGGERS, *cardcounts.TRIGGER_NAMES):
        connection.execute(f"DROP TRIGGER {trigger}")
    bare, _ = _timed(lambda: write(_more_cases(WRITES)))
    connection.close()
    return _per_case(counted, bare)


def _per_case(counted: float, bare: float) -> str:
    return (f"{counted / WRITES * 1e6:,.0f} us a case with the counts' triggers,"
            f" {bare / WRITES * 1e6:,.0f} us without")


def _write_cost_postgresql(url: StoreUrl) -> str:
    with psycopg.connect(host=url.host, port=url.port, user=url.user, dbname=url.database) as db:
        insert = (f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) VALUES"
                  f" ({', '.join(['%s'] * len(CASE_COLUMNS))})")

        def write(rows: list[tuple[Any, ...]]) -> None:
            with db.cursor() as cursor:
                cursor.executemany(insert, rows)
            db.commit()

        counted, _ = _timed(lambda: write(_more_cases(0)))
        db.execute("SET session_replication_role = replica")
        bare, _ = _timed(lambda: write(_more_cases(WRITES)))
    return _per_case(counted, bare)


def _sizes_postgresql(url: StoreUrl) -> str:
    with psycopg.connect(host=url.host, port=url.port, user=url.user, dbname=url.database) as db:
        found = db.execute(
            "SELECT relname, pg_total_relation_size(oid), pg_relation_size(oid)"
            " FROM pg_class WHERE relkind = 'r' AND relname LIKE 'case%' ORDER BY 2 DESC").fetchall()
    total = sum(int(size) for _, size, _ in found)
    parts = ", ".join(f"{name} {size / 2**20:,.0f} MiB (heap {heap / 2**20:,.0f})"
                      for name, size, heap in found if size > 2**20)
    return f"{total / 2**20:,.0f} MiB ({parts})"


def _quantiles(read: Callable[[], Any]) -> tuple[float, float, int]:
    """p50 and p95 in ms over RUNS runs, or as many as fit in BUDGET_S (at least 5)."""
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < RUNS and (len(times) < 5 or time.perf_counter() - started < BUDGET_S):
        seconds, _ = _timed(read)
        times.append(seconds * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, len(times)


def _reads(url: StoreUrl, engine: Engine) -> dict[str, Callable[[], Any]]:
    cases = EngineCases(engine, url)
    tally = SqlTally(url)
    today = day_of(NOW)
    year = midnight(day_of(parse_instant("2026-01-01T00:00")))
    everywhere = Place()

    def by_unit(month: tuple[int, int]) -> Callable[[], Any]:
        return lambda: cases.statistics("unit", CaseFilter(), since=month[0], until=month[1])

    def per_case(read: Callable[[], Any]) -> Callable[[], Any]:
        """The same read counting every case of its period (the way before the day counts)."""
        def counting() -> Any:
            counted, whole_days = stats._counted, sqltally._whole_days
            stats._counted = lambda *_: False  # type: ignore[assignment]
            sqltally._whole_days = lambda *_: False  # type: ignore[assignment]
            try:
                return read()
            finally:
                stats._counted, sqltally._whole_days = counted, whole_days  # type: ignore[assignment]
        return counting

    def year_before_today() -> Any:
        return tally.figures(everywhere, year, midnight(today))

    open_places = select(CASES.c.stage, CASES.c.hall, CASES.c.unit, func.count()).where(
        CASES.c.confirmed_at.is_(None)).group_by(CASES.c.stage, CASES.c.hall, CASES.c.unit).order_by(
        CASES.c.stage, CASES.c.hall, CASES.c.unit)

    def open_places_counting() -> list[PlaceCount]:
        """The open cases by light and place as read before the open counts: the whole partial
        index `cases_open_places`, grouped."""
        return [PlaceCount(hall, unit, stage, n)
                for stage, hall, unit, n in tally._read(open_places)]

    return {
        "statistics by unit, October, counting cases": per_case(by_unit(OCTOBER)),
        "statistics by unit, October (closed month)": by_unit(OCTOBER),
        "statistics by unit, November (open cases)": by_unit(NOVEMBER),
        "statistics by unit, November, counting cases": per_case(by_unit(NOVEMBER)),
        "screen: open cases by light and place": lambda: tally.open_places(everywhere),
        "screen: open cases by light and place, counting cases": open_places_counting,
        f"screen: alarm list ({CASE_ALARMS} newest)": lambda: tally.alarm_cases(everywhere, CASE_ALARMS),
        "screen: today's figures": lambda: tally.figures(everywhere, midnight(today), None),
        "screen: the year before today (every 10 min)": year_before_today,
        "  the same, counting cases": per_case(year_before_today),
    }


SAME = (("statistics by unit, October (closed month)", "statistics by unit, October, counting cases"),
        ("statistics by unit, November (open cases)", "statistics by unit, November, counting cases"),
        ("screen: the year before today (every 10 min)", "  the same, counting cases"))


def _measure(label: str, url: StoreUrl) -> dict[str, tuple[float, float, int]]:
    engine = Engine.open(url, clock=lambda: NOW)
    try:
        reads = _reads(url, engine)
        answers = {name: read() for name, read in reads.items()}  # warm, and kept to compare
        for counted, counting in SAME:  # the counts answer as counting the cases does
            assert answers[counted] == answers[counting], counted
        _measure.answers[label] = answers  # type: ignore[attr-defined]
        return {name: _quantiles(read) for name, read in reads.items()}
    finally:
        engine.close()


_measure.answers = {}  # type: ignore[attr-defined]


def main() -> None:
    n_open = int(os.environ.get("BENCH_CASES", "1000000"))
    n_closed = int(os.environ.get("BENCH_CLOSED", str(n_open)))
    print(f"case reads: {n_open:,} open cases, {n_closed:,} closed (October 2026), "
          f"now = 2026-11-26T10:00+08:00; p50 / p95 of up to {RUNS} runs", flush=True)
    seconds, (cases, issued) = _timed(lambda: _all_rows(n_open, n_closed))
    print(f"  (generated {len(cases):,} cases, {len(issued):,} issued cards in {seconds:.1f} s)",
          flush=True)
    figures: dict[str, dict[str, tuple[float, float, int]]] = {}
    sizes: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-case-reads-") as tmp:
        path = Path(tmp) / "cases.sqlite"
        seconds, _ = _timed(lambda: _load_sqlite(path, cases, issued))
        sizes["SQLite"] = f"{path.stat().st_size / 2**20:,.0f} MiB (one file)"
        print(f"  (loaded SQLite in {seconds:.1f} s)", flush=True)
        figures["SQLite"] = _measure("SQLite", StoreUrl.sqlite_file(path))
        writes = {"SQLite": _write_cost_sqlite(path)}
        if os.environ.get("BENCH_POSTGRESQL", "1") != "0":
            with throwaway_cluster(durable=True) as cluster:
                url = cluster.new_database()
                seconds, _ = _timed(lambda: _load_postgresql(url, cases, issued))
                print(f"  (loaded PostgreSQL with COPY in {seconds:.1f} s)", flush=True)
                del cases, issued
                sizes["PostgreSQL"] = _sizes_postgresql(url)
                figures["PostgreSQL"] = _measure("PostgreSQL", url)
                writes["PostgreSQL"] = _write_cost_postgresql(url)
    answers = _measure.answers  # type: ignore[attr-defined]
    if len(answers) == 2:
        same = answers["SQLite"] == answers["PostgreSQL"]
        print(f"  (both databases gave the same answers: {same})", flush=True)
    labels = list(figures)
    print(f"{'read':<56}" + "".join(f"{label + ' p50 / p95 (runs)':>34}" for label in labels))
    for name in figures[labels[0]]:
        print(f"{name:<56}" + "".join(
            f"{f'{p50:,.1f} / {p95:,.1f} ms ({runs})':>34}"
            for p50, p95, runs in (figures[label][name] for label in labels)), flush=True)
    for label, size in sizes.items():
        print(f"case store on disk, {label}: {size}", flush=True)
    for label, cost in writes.items():
        print(f"inserting {WRITES:,} cases in one transaction, {label}: {cost}", flush=True)


if __name__ == "__main__":
    main()
