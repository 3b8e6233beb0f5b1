"""A central process that only ticks the case engine, for the tests of several engines on one
PostgreSQL: `python -m tests.cases.ticker URL NOW BATCH [STALL_AT]`.

It prints `OPEN` once its engine is open and waits for a line on stdin before it ticks, so
a test starts several at once. With STALL_AT n it stops inside its n-th batch's transaction,
after the batch's escalations are written and before the COMMIT, prints `STALLED`, and waits
on stdin for ever: the test kills it there (-9), as a machine dies in the middle of a tick.
Otherwise it prints `ISSUED case kind` for each escalation or reminder its tick issued and `DONE`.
"""

from __future__ import annotations

import sys
from typing import Any

from central.cases.engine import Engine
from central.cases.projection import Refreshed
from central.cases.timebase import parse_instant
from spine.storeurl import StoreUrl


def main(url: str, now: str, batch: str, stall_at: str | None = None) -> None:
    instant = parse_instant(now)
    engine = Engine.open(StoreUrl.parse(url), clock=lambda: float(instant))
    engine.batch = int(batch)
    if stall_at is not None:
        _stall_in_batch(engine, int(stall_at))
    print("OPEN", flush=True)
    sys.stdin.readline()
    report = engine.tick(instant)
    for issued in report.issued:
        print("ISSUED", issued.case_id, issued.kind, flush=True)
    print("DONE", flush=True)
    engine.close()


def _stall_in_batch(engine: Engine, stall_at: int) -> None:
    projector = engine.store.projector
    judge = projector.refresh_rows
    batches = 0

    def refresh_rows(rows: list[tuple[Any, ...]], at: int, now: int) -> list[Refreshed]:
        nonlocal batches
        refreshed = judge(rows, at, now)
        batches += 1
        if batches == stall_at:
            print("STALLED", flush=True)
            sys.stdin.read()  # until killed: the transaction stays open, holding the case log
        return refreshed

    projector.refresh_rows = refresh_rows  # type: ignore[method-assign]


if __name__ == "__main__":
    main(*sys.argv[1:])
