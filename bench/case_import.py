"""History import benchmark: a synthetic year of the seed's size, imported, beside the earlier import.

Run: `.venv/bin/python -m bench.case_import`. 51,055 cases over 8 halls and 30
units (151,007 JSON Lines) are imported the way `hall central import --at`
does, and, in the same run on the same file, the way it used to: each line
judged as it was read, as of one instant, then a tick. Then the same import into
PostgreSQL (a throwaway cluster, fsync on; BENCH_POSTGRESQL=0 leaves it out), and the
SQLite import's file moved into another database with `hall central move-cases`. Both are timed from
reading the file to the end of the closing tick, and both sets of figures are
printed beside an independent day-by-day reading of the rules.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from central.cases.calendar import load_calendar
from central.cases.engine import Engine
from central.cases.importer import import_lines
from central.cases.rules import default_rules
from central.cases.store import CaseConflict, CaseStore, EntryRejected, UnknownCase
from central.cases.synthetic import (
    FIGURES,
    HistoryShape,
    calendar_lookup,
    generate,
    read_by_the_rules,
    reference_figures,
)
from central.cases.timebase import Instant, format_instant
from spine.storeurl import StoreUrl

SHAPE = HistoryShape()
AT = SHAPE.until


def _timed(action: Callable[[], Any]) -> tuple[tuple[float, float], Any]:
    """(wall seconds, CPU seconds of this process), and what `action` returned."""
    start, cpu = time.perf_counter(), time.process_time()
    result = action()
    return (time.perf_counter() - start, time.process_time() - cpu), result


def _seconds(timing: tuple[float, float]) -> str:
    # CPU time beside wall time: on a shared machine the wall clock also counts others' work.
    return f"{timing[0]:.1f} s (cpu {timing[1]:.1f} s)"


def _row(label: str, ours: str, baseline: str) -> None:
    print(f"{label:<46} {ours:>24}   earlier: {baseline}", flush=True)


def _figures_line(label: str, figures: dict[str, int]) -> None:
    shown = "  ".join(f"{name} {figures[name]:,}" for name in FIGURES)
    print(f"  {label:<28} {shown}", flush=True)


def _open(path: Path | StoreUrl) -> Engine:
    # A day after the history's end: the import's instant is in the past, as it would be.
    return Engine.open(path, clock=lambda: AT + 86400)


def _figures(store: CaseStore) -> dict[str, int]:
    row = store.statistics(until=AT)[0]
    return {name: int(getattr(row, name)) for name in FIGURES}


def earlier_import(store: CaseStore, lines: Iterable[str], at: Instant) -> None:
    """What `import_lines` did before: every line judged as it was read, as of one instant,
    500 lines a commit; then a tick."""
    chunk: list[str] = []

    def commit() -> None:
        with store.writing():
            for line in chunk:
                data = json.loads(line)
                kind, body = (data["type"], data["body"]) if "type" in data else (
                    "case.accepted", data)
                with contextlib.suppress(EntryRejected, CaseConflict, UnknownCase):
                    store.record(kind, body, now=at)
        chunk.clear()

    for line in lines:
        chunk.append(line)
        if len(chunk) >= 500:
            commit()
    commit()
    Engine(store).tick(at)


def _postgresql(source: Path, imported_file: Path, count: int, expected: dict[str, int]
                ) -> tuple[tuple[float, float], tuple[float, float], int]:
    """The same import into a database on a throwaway cluster (fsync on), and the SQLite
    import's file moved into another (`hall central move-cases`)."""
    from central import migrations
    from central.cases.move import move_cases
    from spine.engines import open_engine
    from tests.pgcluster import throwaway_cluster

    with throwaway_cluster(durable=True) as cluster:
        urls = [cluster.new_database(), cluster.new_database()]
        for url in urls:
            engine = open_engine(url)
            with engine.connect() as connection:
                migrations.upgrade(connection)
            engine.dispose()
        cases = _open(urls[0])

        def ours() -> Any:
            with source.open(encoding="utf-8") as lines:
                return import_lines(cases.store, lines, at=AT)

        seconds, report = _timed(ours)
        assert report.stored == count and not report.rejected, report.as_dict()
        assert _figures(cases.store) == expected, "PostgreSQL's import disagrees with SQLite's"
        cases.close()
        move_seconds, moved = _timed(lambda: move_cases(imported_file, urls[1]))
        assert moved.verified is not None and moved.verified.ok
    return seconds, move_seconds, moved.counts["case_events"][1]


def main() -> None:
    calendar = load_calendar()
    history = generate(SHAPE, calendar)
    offsets = default_rules().ladder.offsets
    look = calendar_lookup(calendar)
    readings = [read_by_the_rules(case, look, offsets, AT) for case in history.cases]
    expected = reference_figures(readings, AT)[None]
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        source = Path(tmp) / "history.jsonl"
        with source.open("w", encoding="utf-8") as out:
            count = 0
            for line in history.lines():
                out.write(line + "\n")
                count += 1
        print(f"case import, {len(history.cases):,} cases ({count:,} JSON Lines) over "
              f"{SHAPE.halls} halls, judged as of {format_instant(AT)}", flush=True)

        engine = _open(Path(tmp) / "import.sqlite")

        def ours() -> Any:
            with source.open(encoding="utf-8") as lines:
                return import_lines(engine.store, lines, at=AT)

        seconds, report = _timed(ours)
        assert report.stored == count and not report.rejected, report.as_dict()
        imported = _figures(engine.store)
        engine.close()

        engine = _open(Path(tmp) / "earlier.sqlite")

        def earlier() -> None:
            with source.open(encoding="utf-8") as lines:
                earlier_import(engine.store, lines, AT)

        earlier_seconds, _ = _timed(earlier)
        before = _figures(engine.store)
        engine.close()
        on_postgresql = (_postgresql(source, Path(tmp) / "import.sqlite", count, imported)
                         if os.environ.get("BENCH_POSTGRESQL", "1") != "0" else None)

    _row("import, including its tick", _seconds(seconds),
         f"{_seconds(earlier_seconds)}, each line judged as read, as of one instant")
    if on_postgresql is not None:
        pg_seconds, move_seconds, moved = on_postgresql
        print(f"{'PostgreSQL: the same import, including its tick':<46} {_seconds(pg_seconds):>24}"
              f"   {pg_seconds[0] / seconds[0]:.2f}x SQLite's wall time", flush=True)
        print(f"{'PostgreSQL: move-cases of the SQLite import':<46} {_seconds(move_seconds):>24}"
              f"   {moved:,} log records, verified after", flush=True)
    _figures_line("by the import:", imported)
    _figures_line("by the earlier import:", before)
    _figures_line("by the rules, day by day:", expected)
    assert imported == expected, "the import disagrees with the day-by-day reading"


if __name__ == "__main__":
    main()
