"""Several case engines ticking over one PostgreSQL: each escalation issued once, one chain.

Every write transaction of the case store takes the case log's advisory lock before it reads
anything (`central.cases.database`), so a second engine's batch waits for the first one's
COMMIT and then finds those cases no longer due; the `(case, kind)` key of `case_issued` is
the last guard. A process killed -9 inside a batch loses that batch (the server rolls it
back and frees the lock with its connection), and the other engine does it instead.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import IO

from sqlalchemy import text

from central.cases.database import CASE_LOG_LOCK
from central.cases.engine import Engine, Issue
from central.cases.timebase import parse_instant as at
from spine.engines import open_engine
from spine.storeurl import StoreUrl
from tests.cases.conftest import entry, run_sql
from tests.central.stores import migrated
from tests.support import wait_until

NOW = "2026-12-05T09:00"
CASES = 120
KINDS_DUE = 4
"""By NOW each case (accepted 11-23, five working days) is owed its yellow light reminder,
its yellow and red cards and the supervision letter."""


def _entries(engine: Engine) -> None:
    for n in range(CASES):
        engine.store.submit(entry(f"JQ-PG-{n:04d}"), now=at("2026-11-23T10:05"))


def _issued_in_log(engine: Engine) -> Counter[tuple[str, str]]:
    """(case, kind) of every escalation and reminder in the case log, with how often."""
    return Counter((case_id, json.loads(body)["kind"]) for case_id, body in run_sql(
        engine, "SELECT case_id, body FROM case_events WHERE kind IN ('case.escalated', 'case.reminder')"))


def _assert_each_issued_once(engine: Engine) -> None:
    in_log = _issued_in_log(engine)
    assert len(in_log) == CASES * KINDS_DUE
    assert set(in_log.values()) == {1}, [key for key, n in in_log.items() if n > 1][:5]
    keys = run_sql(engine, "SELECT count(*) FROM case_issued")[0][0]
    assert keys == CASES * KINDS_DUE
    # The cards' counts (revision 0014) as many as the escalations kept, whoever ticked or died.
    escalations = run_sql(engine, "SELECT count(*) FROM case_issued WHERE escalation = 1")
    assert escalations != [(0,)]
    assert run_sql(engine, "SELECT sum(issued) FROM case_card_counts") == escalations
    report = engine.store.verify()
    assert report.ok, report.problem


def test_two_engines_ticking_together_issue_each_escalation_once(
        pg_database: StoreUrl) -> None:
    url = migrated(pg_database)
    first, second = Engine.open(url), Engine.open(url)
    try:
        _entries(first)
        first.batch = second.batch = 10  # many small batches: the two interleave
        start = threading.Barrier(2)
        reports: dict[str, list[Issue]] = {}

        def tick(name: str, engine: Engine) -> None:
            start.wait(timeout=30)
            reports[name] = engine.tick(at(NOW)).issued

        threads = [threading.Thread(target=tick, args=(name, engine))
                   for name, engine in (("first", first), ("second", second))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert set(reports) == {"first", "second"}
        by_first = {(i.case_id, i.kind) for i in reports["first"]}
        by_second = {(i.case_id, i.kind) for i in reports["second"]}
        assert not by_first & by_second  # no escalation reported by both
        assert len(by_first | by_second) == CASES * KINDS_DUE
        _assert_each_issued_once(first)
        assert first.tick(at(NOW)).issued == [] and second.tick(at(NOW)).issued == []
    finally:
        first.close()
        second.close()


class Ticker:
    """`python -m tests.cases.ticker`: one central process that ticks, its output in a file."""

    def __init__(self, name: str, url: StoreUrl, tmp_path: Path, stall_at: int | None = None):
        self.out = tmp_path / f"{name}.out"
        self.err = tmp_path / f"{name}.err"
        args = [sys.executable, "-m", "tests.cases.ticker", url.secret_url(), NOW, "10"]
        if stall_at is not None:
            args.append(str(stall_at))
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=out, stderr=err,
                                            env=dict(os.environ, PYTHONUNBUFFERED="1"))

    @property
    def stdin(self) -> IO[bytes]:
        assert self.process.stdin is not None
        return self.process.stdin

    def said(self, word: str) -> bool:
        if self.process.poll() not in (None, 0):
            raise AssertionError(f"ticker failed: {self.err.read_text()}")
        return word in self.out.read_text().split()

    def go(self) -> None:
        self.stdin.write(b"go\n")
        self.stdin.flush()

    def issued(self) -> set[tuple[str, str]]:
        return {(line.split()[1], line.split()[2]) for line in self.out.read_text().splitlines()
                if line.startswith("ISSUED")}

    def kill(self) -> None:
        """kill -9: no rollback of its own, no goodbye; the server ends its transaction."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def end(self) -> None:
        if self.process.poll() is None:
            self.kill()
        self.stdin.close()


def _waiting_for_the_case_log(url: StoreUrl) -> int:
    """How many sessions wait for the case log's advisory lock now (pg_locks)."""
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND classid = (:key >> 32) & 4294967295 AND objid = :key & 4294967295"),
                {"key": CASE_LOG_LOCK}).scalar_one())
    finally:
        engine.dispose()


def test_an_engine_killed_in_the_middle_of_a_tick_doubles_and_loses_nothing(
        pg_database: StoreUrl, tmp_path: Path) -> None:
    url = migrated(pg_database)
    setup = Engine.open(url)
    _entries(setup)
    setup.close()
    doomed = Ticker("doomed", url, tmp_path, stall_at=3)
    other = Ticker("other", url, tmp_path)
    try:
        wait_until(lambda: doomed.said("OPEN") and other.said("OPEN"), 60, "both engines open")
        doomed.go()
        wait_until(lambda: doomed.said("STALLED"), 60, "the doomed engine inside its third batch")
        other.go()
        # The other engine waits for the case log while the doomed one holds it, mid-batch.
        wait_until(lambda: _waiting_for_the_case_log(url) == 1, 60, "the other engine waiting")
        doomed.kill()
        wait_until(lambda: other.said("DONE"), 120, "the other engine's tick")
        assert other.process.wait(timeout=30) == 0
    finally:
        doomed.end()
        other.end()
    check = Engine.open(url)
    try:
        _assert_each_issued_once(check)
        # The doomed engine's first two batches committed; the third died with it and the
        # other engine issued those, and everything after.
        committed_by_doomed = CASES * KINDS_DUE - len(other.issued())
        assert committed_by_doomed == 2 * 10 * KINDS_DUE
        assert check.tick(at(NOW)).issued == []
    finally:
        check.close()
