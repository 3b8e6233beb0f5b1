"""Central's event store ingest on SQLite beside PostgreSQL with 1, 2 and 4 workers, in one run.

    python -m bench.store_ingest [EVENTS] [RUNS] [--workers 1,2,4] [--halls 8] [--batch 500]
                                 [--projections [--receiver]] [--preload N]

What central's store does with a gateway's batch, and nothing else: batches through
`CentralStore.commit` (each event appended once, the sender's stream checked and advanced,
the hall's advisory lock held, one commit per batch), into a fresh store each run. EVENTS
events come from HALLS halls, one gateway each, in batches cut as a gateway's uplink cuts
them when central is behind: up to 500 events and 192 kB (`[uplink] batch_max_events`,
`batch_max_bytes`; about 420 of the visits' events); `--batch 100` for smaller ones.

A worker is a process of its own with its own connection and `CentralStore`, as a
second `hall central run` would be; it takes the streams of its share of the halls
(hall i goes to worker i mod WORKERS) and stores their batches in each hall's order,
taking turns between its halls. SQLite has one writer per file: its figure is one
worker over all the halls. Every worker makes its batches before a common start (then
sets its garbage collector as `hall central run` does, so they are not rescanned), and
the figure is all the events over the time from that start to the last worker's last
commit.

SQLite is a file in WAL mode with `synchronous=FULL` (an fsync of the WAL at every
commit), as central opens it; PostgreSQL 15 is a throwaway cluster the bench starts
itself (`tests.pgcluster`) with `fsync` on and `synchronous_commit` on (the default:
a commit returns once its WAL is flushed), so both flush every commit. Runs
alternate (SQLite, PostgreSQL with 1, 2, 4 workers, SQLite, ...) so a burst of load
from another process falls on all; each figure is the median of RUNS runs (3).
Issue #17's targets: one PostgreSQL worker at least 0.8x SQLite, two at least 1.5x one.

`--projections`: the events are a hall's visits instead (a ticket issued, called, served,
then rated; many tickets waiting at once, so some visits' events fall in two batches),
and each worker's store has central's projections that read them, installed as `hall
central run` installs them: the queue statistics, the ratings, telemetry and the video
directory. `--receiver` (with `--projections`): each batch is fed as its message's bytes
through central's receiver, as `CentralIngest` sets it up (the message read, every envelope
and body validated, each author checked against its gateway's stamp by `HallTrust`, stored,
answered): central's whole ingest but the broker.

`--preload N`: each database's store already holds N events of a province's past year
before the runs (`bench.province`'s halls and visits, loaded in bulk; issue #17 asks for
10,000,000), and every run appends to it, so the log's indexes, the segments and the
month figures are a province's size, not a fresh store's. Each run takes halls of its own.
Event ids are made as devices make them (`time_ordered_id`: they sort by time, so the log's
unique index grows at its end).
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench._common import load, median, spread
from central import migrations
from central.authority import HallTrust
from central.projection import CURSOR_SCHEMA, Projection
from central.queue_stats import QueueStatsProjection
from central.ratings import RatingBook
from central.store import CentralStore
from central.telemetry import Telemetry
from central.video.directory import FootageDirectory
from contract.authority import Author
from contract.envelope import Batch, Envelope, Received, time_ordered_id
from spine.clock import SystemClock
from spine.config import UplinkSettings
from spine.engines import open_engine
from spine.receiver import AcceptedEvent, BatchReceiver, IncomingBatch
from spine.service import COLLECTOR_THRESHOLDS
from spine.storeurl import StoreUrl
from tests.pgcluster import throwaway_cluster

UPLINK = UplinkSettings()
BATCH = UPLINK.batch_max_events
"""Events per batch at most, and `UPLINK.batch_max_bytes` of them: a gateway's uplink fills its
batches up to both whenever central is behind (`spine.uplink`), the only time its speed shows.
`--batch 100` gives smaller ones (a hall's steady trickle)."""
ONE_WORKER_TARGET = 0.8
"""One PostgreSQL worker beside SQLite's one writer."""
TWO_WORKERS_TARGET = 1.5
"""Two PostgreSQL workers beside one."""
PAD = "x" * 80  # a ticket or rating event is about 300 bytes on the wire


def hall_name(hall: int) -> str:
    return f"hall-{hall:02d}"


def batches(events: int, hall: int = 1, size: int = BATCH) -> list[IncomingBatch]:
    """EVENTS kiosk events forwarded by one hall's gateway, in batches of `size` at most."""
    now = int(time.time() * 1000)
    gateway = f"gw-{hall_name(hall)}"
    envelopes = [
        Envelope(v=1, id=time_ordered_id(now + seq), device=f"kiosk-{seq % 20:02d}", seq=seq, boot="boot0001",
                 time=now + seq, mono=seq, type="sim.counter", body={"n": seq, "pad": PAD},
                 recv=Received(by=gateway, at=now + seq, est_time=now + seq))
        for seq in range(1, events + 1)
    ]
    return _cut(gateway, hall, now, envelopes, size)


def _cut(gateway: str, hall: int, now: int, envelopes: list[Envelope], size: int) -> list[IncomingBatch]:
    """The envelopes in batches as the gateway's uplink cuts them: up to `size` events and
    `UPLINK.batch_max_bytes` of them (`spine.outbox.Outbox.read_after`)."""
    made: list[IncomingBatch] = []
    sent = 0
    while sent < len(envelopes):
        taken: list[AcceptedEvent] = []
        total = 0
        for envelope in envelopes[sent:sent + size]:
            text = envelope.model_dump_json()
            if taken and total + len(text) > UPLINK.batch_max_bytes:
                break
            taken.append(AcceptedEvent(envelope, text, True))
            total += len(text)
        batch = Batch(v=1, batch=uuid.uuid4().hex, sender=gateway, boot="boot0001", sent_at=now,
                      sent_mono=0, events=[event.envelope.model_dump() for event in taken],
                      last=sent + len(taken), after=sent or None)
        made.append(IncomingBatch(topic=f"central/{hall_name(hall)}/events", batch=batch, received_at=now,
                                  events=taken))
        sent += len(taken)
    return made


WAITING = 12
"""Tickets waiting at once in a hall of the `--projections` bench: a visit's four events are
about 50 events apart, so at batches of 100 most visits span two, at the uplink's size about
one in eight."""


def visit_batches(events: int, hall: int = 1, size: int = BATCH) -> list[IncomingBatch]:
    """About EVENTS queue and rating events of one hall's visits, in batches of `size` at most: each
    step issues a ticket, calls the one issued `WAITING` steps before, and serves and rates the
    one before that, as a busy hall's gateway forwards them."""
    now = int(time.time() * 1000)
    day = time.strftime("%Y-%m-%d", time.localtime(now / 1000))
    gateway = f"gw-{hall_name(hall)}"
    facts: list[tuple[str, dict[str, Any]]] = []
    step = 0
    while len(facts) < events:
        step += 1
        at = now + step * 1000
        # Every body whole, as the catalog has it: `--receiver` validates each one.
        facts.append(("queue.ticket_issued", {"day": day, "ticket": f"A{step:05d}", "service": "A",
                                              "service_name": "Residence permits", "number": step,
                                              "slot": step, "people_ahead": WAITING, "issued_at": at}))
        if step > WAITING:
            ticket = f"A{step - WAITING:05d}"
            facts.append(("queue.called", {"day": day, "ticket": ticket, "service": "A",
                                           "window": str(step % 8), "officer": f"10{step % 8:02d}",
                                           "at": at, "issued_at": at - WAITING * 1000,
                                           "waiting_since": at - WAITING * 1000, "wait_ms": WAITING * 1000}))
        if step > WAITING + 1:
            ticket = f"A{step - WAITING - 1:05d}"
            window = (step - 1) % 8
            facts.append(("queue.served", {"day": day, "ticket": ticket, "service": "A",
                                           "window": str(window), "officer": f"10{window:02d}",
                                           "at": at, "called_at": at - 1000, "service_ms": 1000}))
            facts.append(("rating.recorded", {
                "hall": hall_name(hall), "window": str((step - 1) % 8), "officer": f"10{(step - 1) % 8:02d}",
                "officer_name": None, "department": "civil", "service": "A",
                "visit": {"day": day, "ticket": ticket}, "how": "visit",
                "rating": f"r-{hall_name(hall)}-{ticket}",
                "terminal": f"rating-w{(step - 1) % 8}", "grade": "satisfied", "rated_at": at,
                "source_event": "e" * 32}))
    return _batched(gateway, hall, now, [(seq, type, body) for seq, (type, body) in
                                         enumerate(facts[:events], start=1)], size)


KIOSK = "kiosk-01"
"""The hall's kiosk: the author of its tickets (the gateway states the calls, services and ratings)."""


def _batched(gateway: str, hall: int, now: int, facts: list[tuple[int, str, dict[str, Any]]], size: int
             ) -> list[IncomingBatch]:
    # Each stamped with its author as the gateway verified it, as `HallTrust` checks again.
    envelopes = [
        Envelope(v=1, id=time_ordered_id(now + seq), device=KIOSK if kiosk else gateway, seq=seq,
                 boot="boot0001", time=now + seq, mono=seq, type=type, body=body,
                 recv=Received(by=gateway, at=now + seq, est_time=now + seq,
                               kind=Author.KIOSK if kiosk else Author.GATEWAY))
        for seq, type, body in facts
        for kiosk in [type == "queue.ticket_issued"]
    ]
    return _cut(gateway, hall, now, envelopes, size)


def taking_turns(streams: list[list[IncomingBatch]]) -> list[IncomingBatch]:
    """One worker's halls' batches, each hall's in its order, the halls taking turns."""
    longest = max((len(stream) for stream in streams), default=0)
    return [stream[i] for i in range(longest) for stream in streams if i < len(stream)]


def ingest(url: StoreUrl, work: list[IncomingBatch]) -> float:
    """Events a second stored through one store in this process, from open to the last commit."""
    started = time.perf_counter()
    _store_all(url, work)
    return sum(len(b.events) for b in work) / (time.perf_counter() - started)


def _store_all(url: StoreUrl, work: list[IncomingBatch], projections: bool = False,
               wire: list[tuple[str, str, bytes]] | None = None) -> None:
    store = CentralStore(url, SystemClock())
    if projections:
        # As `hall central run` has them (`central.service`): each installed, then fed.
        for projection in _projections(store):
            projection.install(store)
            store.handlers.append(projection)
    try:
        if wire is not None:
            _receive_all(store, wire)
            return
        for incoming in work:
            stored, duplicates = store.commit(incoming, [])
            assert stored == len(incoming.events) and duplicates == 0
    finally:
        store.close()


def _projections(store: CentralStore) -> list[Projection]:
    """Central's projections of queue and rating events, as `hall central run` has them."""
    return [Telemetry(), QueueStatsProjection(), RatingBook(), FootageDirectory(store)]


def _receive_all(store: CentralStore, wire: list[tuple[str, str, bytes]]) -> None:
    """Each message through central's receiver as `CentralIngest` sets it up: read, validated,
    each event's author checked against its gateway's stamp (`HallTrust`), stored, answered."""
    trust = HallTrust({hall: f"gw-{hall}" for hall in {hall for _topic, hall, _payload in wire}})
    store.admit, store.judges = trust.admit, trust.judges
    receiver = BatchReceiver(store, store.clock, authorize=trust.authorize, check_event=trust.check)
    for topic, hall, payload in wire:
        ack = receiver.receive(topic, hall, payload)
        assert ack is not None and not ack.resend and not ack.rejected and ack.duplicates == 0, ack


def _on_the_wire(work: list[IncomingBatch]) -> list[tuple[str, str, bytes]]:
    """The batches as their gateways publish them: (topic, hall, the message's bytes)."""
    return [(incoming.topic, incoming.topic.split("/")[1], incoming.batch.model_dump_json().encode())
            for incoming in work]


def _worker(url: StoreUrl, halls: list[int], per_hall: int, start: Barrier,
            done: multiprocessing.Queue[tuple[float, float]], projections: bool, receiver: bool,
            size: int) -> None:
    make = visit_batches if projections else batches
    work = taking_turns([make(per_hall, hall, size) for hall in halls])
    wire = _on_the_wire(work) if receiver else None
    # As `hall central run` sets its collector (`spine.service.run_until_signal`): the batches
    # made before the start are not rescanned while the worker stores them.
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    start.wait()
    began = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process of the machine
    try:
        _store_all(url, work, projections, wire)
    except BaseException:
        done.put((began, -1.0))  # the parent stops waiting, and raises
        raise
    done.put((began, time.monotonic()))


def ingest_with(url: StoreUrl, workers: int, halls: int, events: int, projections: bool = False,
                receiver: bool = False, size: int = BATCH, first_hall: int = 1) -> float:
    """Events a second stored by WORKERS processes, each taking its share of the halls (numbered
    from FIRST_HALL: a run into a store that earlier runs filled takes halls of its own)."""
    context = multiprocessing.get_context("fork")
    start = context.Barrier(workers)
    done: multiprocessing.Queue[tuple[float, float]] = context.Queue()
    per_hall = events // halls
    shares = [[hall for hall in range(first_hall, first_hall + halls) if hall % workers == worker]
              for worker in range(workers)]
    processes = [context.Process(target=_worker, args=(
        url, share, per_hall, start, done, projections, receiver, size)) for share in shares]
    for process in processes:
        process.start()
    spans = [done.get(timeout=600) for _ in processes]
    if any(ended < 0 for _, ended in spans):
        raise RuntimeError("an ingest worker failed (its traceback is above)")
    for process in processes:
        process.join(60)
        if process.exitcode != 0:
            raise RuntimeError(f"an ingest worker failed (exit code {process.exitcode})")
    began, ended = min(s for s, _ in spans), max(e for _, e in spans)
    return per_hall * halls / (ended - began)


PRELOAD_HALLS = 200
PRELOAD_MONTHS = 12


def preloaded(url: StoreUrl, events: int) -> StoreUrl:
    """URL's store holding EVENTS events of a province's past year before the runs, as
    `bench.province` loads them in bulk: 200 halls over 12 months of working days, each visit's
    events in the log and its segment and month figures in the queue statistics' tables. The
    projections' cursors are set at the newest event, as if they had fed all of it (a worker
    that installs them then replays nothing)."""
    from bench.province import Loader, visits, working_days  # it imports this module

    loader = Loader(url)
    days = working_days(PRELOAD_MONTHS, date.today() - timedelta(days=1))
    for event_rows, segment_rows in visits(events, PRELOAD_HALLS, days):
        loader.write(event_rows, segment_rows)
    loader.finish()
    store = CentralStore(url, SystemClock())
    try:
        names = [projection.name for projection in _projections(store)]
    finally:
        store.close()
    engine = open_engine(url)
    with engine.begin() as connection:
        if url.is_sqlite:  # on PostgreSQL the migrations made it
            connection.exec_driver_sql(CURSOR_SCHEMA)
        for name in names:
            connection.execute(text("INSERT INTO projection_cursor (name, last_id) "
                                    "SELECT :name, max(id) FROM events"), {"name": name})
    engine.dispose()
    return url


def migrated(url: StoreUrl) -> StoreUrl:
    engine = open_engine(url)
    with engine.connect() as connection:
        migrations.upgrade(connection)
    engine.dispose()
    return url


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.store_ingest", description=__doc__.split("\n")[0])
    parser.add_argument("events", nargs="?", type=int, default=20_000)
    parser.add_argument("runs", nargs="?", type=int, default=3)
    parser.add_argument("--workers", default="1,2,4", help="PostgreSQL worker counts, e.g. 1,2,4")
    parser.add_argument("--halls", type=int, default=8)
    parser.add_argument("--batch", type=int, default=BATCH,
                        help=f"events per batch at most (the uplink's: {BATCH}, and "
                             f"{UPLINK.batch_max_bytes // 1024} kB)")
    parser.add_argument("--projections", action="store_true",
                        help="visits' queue and rating events, through central's projections")
    parser.add_argument("--receiver", action="store_true",
                        help="with --projections: each batch from its message's bytes through central's "
                             "receiver (read, validated, authors checked, stored, answered)")
    parser.add_argument("--preload", type=int, default=0, metavar="N",
                        help="N events of a province's past year in each store before the runs (issue #17: "
                             "10000000), the runs appending to it; by default each run has a fresh store")
    # `python -m bench store_ingest` leaves the module's name among the arguments.
    options = parser.parse_args([a for a in sys.argv[1:] if not a.isidentifier()])
    counts = [int(n) for n in options.workers.split(",")]
    events, runs, halls = options.events, options.runs, options.halls
    if options.receiver and not options.projections:
        parser.error("--receiver goes with --projections (central's ingest has both)")
    what = ("visits' messages through the receiver and the projections" if options.receiver else
            "visits' events through the projections" if options.projections else "events")
    print(f"{events:,} {what} from {halls} halls in batches of up to {options.batch} events and "
          f"{UPLINK.batch_max_bytes // 1024} kB, {runs} alternated runs each "
          f"({load()})", flush=True)
    names = ["sqlite"] + [f"postgresql x{n}" for n in counts]
    rates: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR", ".")) as tmp, \
            throwaway_cluster(durable=True) as cluster:
        store_for: dict[str, Callable[[int], StoreUrl]]
        if options.preload:
            started = time.perf_counter()
            kept = {"sqlite": preloaded(StoreUrl.sqlite_file(Path(tmp) / "events.sqlite"), options.preload),
                    "postgresql": preloaded(migrated(cluster.new_database()), options.preload)}
            print(f"  both stores hold {options.preload:,} events of {PRELOAD_HALLS} halls' past "
                  f"{PRELOAD_MONTHS} months, loaded in {time.perf_counter() - started:.0f} s; each run's "
                  f"halls are new ones ({load()})", flush=True)
            store_for = {"sqlite": lambda _run: kept["sqlite"],
                         **{f"postgresql x{n}": (lambda _run: kept["postgresql"]) for n in counts}}
        else:
            store_for = {
                "sqlite": lambda run: StoreUrl.sqlite_file(Path(tmp) / f"events-{run}.sqlite"),
                **{f"postgresql x{n}": (lambda _run: migrated(cluster.new_database())) for n in counts},
            }
        for run in range(runs):
            for index, name in enumerate(names):
                workers = 1 if name == "sqlite" else int(name.split("x")[1])
                # Halls of its own (the PostgreSQL runs may share one preloaded database).
                first_hall = 1 + (run * len(names) + index) * halls
                rates[name].append(ingest_with(store_for[name](run), workers, halls, events,
                                                 options.projections, options.receiver, options.batch,
                                                 first_hall))
                print(f"  run {run + 1}: {name:15} {rates[name][-1]:9,.0f} ev/s", flush=True)
    sqlite = median(rates["sqlite"])
    print(f"  {'SQLite, 1 writer':22} {sqlite:9,.0f} ev/s  (runs {spread(rates['sqlite'])})")
    one = median(rates["postgresql x1"]) if 1 in counts else None
    for n in counts:
        figure = median(rates[f"postgresql x{n}"])
        line = (f"  {f'PostgreSQL, {n} worker' + ('s' if n > 1 else ''):22} {figure:9,.0f} ev/s  "
                f"(runs {spread(rates[f'postgresql x{n}'])})  {figure / sqlite:.2f}x SQLite")
        if n == 1:
            line += f", target {ONE_WORKER_TARGET}x: {_verdict(figure >= ONE_WORKER_TARGET * sqlite)}"
        elif one is not None:
            line += f", {figure / one:.2f}x one worker"
            if n == 2:
                line += f", target {TWO_WORKERS_TARGET}x: {_verdict(figure >= TWO_WORKERS_TARGET * one)}"
        print(line)
    print(f"  ({load()})")


if __name__ == "__main__":
    main()
