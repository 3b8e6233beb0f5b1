"""Central's event store ingest on SQLite beside PostgreSQL, in one run.

    python -m bench.store_ingest [EVENTS] [RUNS]

What central's receiver does with a gateway's batch, and nothing else: batches of
100 events through `CentralStore.commit` (each event appended once, the sender's
stream advanced, one commit per batch), into a fresh store each run. SQLite is a
file in WAL mode with `synchronous=FULL`, as central opens it; PostgreSQL 15 is a
throwaway cluster the bench starts itself (`tests.pgcluster`) with `fsync` on, so
both flush every commit. Runs alternate (SQLite, PostgreSQL, SQLite, ...) so a
burst of load from another process falls on both; the figure is the median of
RUNS runs (3 by default), one worker on each side. Issue #17's target: PostgreSQL
at least 0.8x SQLite.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from bench._common import load, median, spread
from central import migrations
from central.store import CentralStore
from contract.envelope import Batch, Envelope, Received
from spine.clock import SystemClock
from spine.engines import open_engine
from spine.receiver import AcceptedEvent, IncomingBatch
from spine.storeurl import StoreUrl
from tests.pgcluster import throwaway_cluster

BATCH = 100
"""Events per batch, as a gateway's forwarder sends them (`[forward] batch_size`)."""
TARGET = 0.8
GATEWAY = "gw-hall-01"
PAD = "x" * 80  # a ticket or rating event is about 300 bytes on the wire


def batches(events: int) -> list[IncomingBatch]:
    """EVENTS kiosk events forwarded by one gateway, in batches of `BATCH`, made before timing."""
    now = int(time.time() * 1000)
    made: list[IncomingBatch] = []
    for first in range(0, events, BATCH):
        envelopes = [
            Envelope(v=1, id=uuid.uuid4().hex, device=f"kiosk-{seq % 20:02d}", seq=seq, boot="boot0001",
                     time=now + seq, mono=seq, type="sim.counter", body={"n": seq, "pad": PAD},
                     recv=Received(by=GATEWAY, at=now + seq, est_time=now + seq))
            for seq in range(first + 1, min(events, first + BATCH) + 1)
        ]
        batch = Batch(v=1, batch=uuid.uuid4().hex, sender=GATEWAY, boot="boot0001", sent_at=now,
                      sent_mono=0, events=[e.model_dump() for e in envelopes], last=first + len(envelopes),
                      after=first or None)
        made.append(IncomingBatch(topic="central/hall-01/events", batch=batch, received_at=now,
                                  events=[AcceptedEvent(e, e.model_dump_json(), True) for e in envelopes]))
    return made


def ingest(url: StoreUrl, work: list[IncomingBatch]) -> float:
    """Events a second stored through one store, from open to the last commit."""
    store = CentralStore(url, SystemClock())
    try:
        started = time.perf_counter()
        for incoming in work:
            stored, duplicates = store.commit(incoming, [])
            assert stored == len(incoming.events) and duplicates == 0
        elapsed = time.perf_counter() - started
    finally:
        store.close()
    return sum(len(b.events) for b in work) / elapsed


def migrated(url: StoreUrl) -> StoreUrl:
    engine = open_engine(url)
    with engine.connect() as connection:
        migrations.upgrade(connection)
    engine.dispose()
    return url


def main() -> None:
    args = [int(a) for a in sys.argv[1:] if a.isdigit()]
    events = args[0] if args else 20_000
    runs = args[1] if len(args) > 1 else 3
    print(f"{events:,} events in batches of {BATCH}, {runs} alternated runs each, one worker "
          f"({load()})", flush=True)
    work = batches(events)
    rates: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR", ".")) as tmp, \
            throwaway_cluster(durable=True) as cluster:
        stores: dict[str, Callable[[int], StoreUrl]] = {
            "sqlite": lambda run: StoreUrl.sqlite_file(Path(tmp) / f"events-{run}.sqlite"),
            "postgresql": lambda _run: migrated(cluster.new_database()),
        }
        for run in range(runs):
            for name, fresh in stores.items():
                rates[name].append(ingest(fresh(run), work))
                print(f"  run {run + 1}: {name:10} {rates[name][-1]:9,.0f} ev/s", flush=True)
    sqlite, postgresql = median(rates["sqlite"]), median(rates["postgresql"])
    print(f"  SQLite     {sqlite:9,.0f} ev/s  (runs {spread(rates['sqlite'])})")
    print(f"  PostgreSQL {postgresql:9,.0f} ev/s  (runs {spread(rates['postgresql'])})  "
          f"{postgresql / sqlite:.2f}x SQLite, target {TARGET}x: "
          f"{'met' if postgresql >= TARGET * sqlite else 'NOT met'}")
    print(f"  ({load()})")


if __name__ == "__main__":
    main()
