"""Two central ingest processes over one PostgreSQL: a hall's stream is stored by one at a time, in order.

Each "process" is a `CentralStore` with its own connection and the receiver `CentralIngest`
puts in front of it, run on a thread of its own. The hall's gateway sends its outbox in
numbered batches, each naming the position the receiver must already hold (`after`). The
batches reach both processes (two subscribed during a hand-over) or each reaches one of
them in turn (MQTT 5 shared subscriptions); a batch that comes before its predecessor is
committed is answered with a resend, as today. The hall's advisory lock
(`central.hall_lock`) is what keeps a batch delivered to both from being handled twice.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text

from central.hall_lock import hall_lock_key
from central.store import CentralStore
from contract.envelope import Batch, Envelope, Received
from spine.clock import SimulatedClock
from spine.handlers import HandlerContext
from spine.receiver import AcceptedEvent, BatchReceiver
from spine.statement import Statement
from spine.storeurl import StoreUrl
from tests.central.stores import migrated

T0 = 1_780_000_000_000
HALL = "hall-01"
GATEWAY = "gw-hall-01"
DEVICES = ("sim-01", "sim-02")
BATCHES = 40
PER_BATCH = 5
DEADLINE_S = 60.0


@dataclass
class Handled:
    """A handler of the storing transaction, shared by both processes: the events handed to
    the handlers, in the order they were (a batch handled by both would show twice)."""

    ids: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, context: HandlerContext, event: AcceptedEvent) -> None:
        with self._lock:
            self.ids.append(event.envelope.id)


@dataclass(frozen=True)
class Sent:
    """One batch of the gateway's outbox as it goes out, and the events it carries, in order."""

    payload: bytes
    event_ids: tuple[str, ...]


def outbox() -> list[Sent]:
    """The gateway's stream: BATCHES batches of PER_BATCH events, the devices' events interleaved
    and numbered per device, each batch after the one before it."""
    sent: list[Sent] = []
    seq = dict.fromkeys(DEVICES, 0)
    for number in range(BATCHES):
        envelopes = []
        for index in range(PER_BATCH):
            position = number * PER_BATCH + index + 1
            device = DEVICES[position % len(DEVICES)]
            seq[device] += 1
            envelopes.append(Envelope(
                v=1, id=uuid.uuid4().hex, device=device, seq=seq[device], boot="boot0001",
                time=T0 + position, mono=position, type="sim.counter", body={"n": seq[device]},
                recv=Received(by=GATEWAY, at=T0 + position, est_time=T0 + position)))
        batch = Batch(v=1, batch=uuid.uuid4().hex, sender=GATEWAY, boot="boot0001", sent_at=T0, sent_mono=0,
                      events=[e.model_dump() for e in envelopes], last=(number + 1) * PER_BATCH,
                      after=number * PER_BATCH or None)
        sent.append(Sent(batch.model_dump_json().encode(), tuple(e.id for e in envelopes)))
    return sent


class Progress:
    """What the two processes have committed between them: a process asked to resend waits here
    (with a deadline) until the other one has committed something."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._commits = 0

    def committed(self) -> None:
        with self._changed:
            self._commits += 1
            self._changed.notify_all()

    def wait_past(self, seen: int) -> int:
        with self._changed:
            if not self._changed.wait_for(lambda: self._commits > seen, timeout=DEADLINE_S):
                raise AssertionError(f"no commit by either process within {DEADLINE_S:.0f} s")
            return self._commits

    @property
    def commits(self) -> int:
        with self._changed:
            return self._commits


@dataclass
class Process:
    """One central process's ingest: its own store (its own connection) and receiver."""

    store: CentralStore
    receiver: BatchReceiver
    stored: int = 0
    resends: int = 0

    def deliver(self, sent: Sent, progress: Progress) -> None:
        """Receive `sent` as the ingest does; on a resend, receive it again once the other
        process has committed more (as the sender's resend would bring it again)."""
        while True:
            seen = progress.commits
            ack = self.receiver.receive(f"central/{HALL}/events", HALL, sent.payload)
            assert ack is not None and not ack.error and not ack.rejected, ack
            if not ack.resend:
                self.stored += ack.stored
                progress.committed()
                return
            self.resends += 1
            progress.wait_past(seen)


@pytest.fixture
def processes(pg_database: StoreUrl) -> Iterator[tuple[Process, Process, Handled]]:
    url = migrated(pg_database)
    handled = Handled()
    opened = []
    for _ in range(2):
        store = CentralStore(url, SimulatedClock(T0), handlers=[handled])
        receiver = BatchReceiver(store, SimulatedClock(T0), authorize=lambda _hall, _batch: None,
                                 check_event=lambda _hall, _batch, _event: None)
        opened.append(Process(store, receiver))
    yield opened[0], opened[1], handled
    for process in opened:
        process.store.close()


def run_both(first: Process, second: Process, batches: tuple[list[Sent], list[Sent]]) -> None:
    """Each process receives its list of batches, in order, on a thread of its own."""
    progress = Progress()
    failures: list[BaseException] = []

    def receive(process: Process, mine: list[Sent]) -> None:
        try:
            for sent in mine:
                process.deliver(sent, progress)
        except BaseException as exc:  # reported by the test's thread, not lost with this one
            failures.append(exc)
            progress.committed()  # wake the other process: it would wait for this one in vain

    threads = [threading.Thread(target=receive, args=(process, mine), name=f"central-{index}")
               for index, (process, mine) in enumerate(zip((first, second), batches, strict=True))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DEADLINE_S)
        assert not thread.is_alive(), f"{thread.name} still receiving after {DEADLINE_S:.0f} s"
    if failures:
        raise failures[0]


def logged(store: CentralStore) -> list[tuple[str, str, int]]:
    statement = Statement(lambda _dialect: text("SELECT event_id, device, seq FROM events ORDER BY id"))
    return [(row[0], row[1], int(row[2])) for row in store.read(lambda tx: statement.run(tx).fetchall())]


def assert_the_stream_is_stored_once_in_order(stream: list[Sent], first: Process, handled: Handled) -> None:
    sent_ids = [event_id for sent in stream for event_id in sent.event_ids]
    log = logged(first.store)
    assert [event_id for event_id, _device, _seq in log] == sent_ids, "each event once, in the sender's order"
    for device in DEVICES:
        seqs = [seq for _id, logged_device, seq in log if logged_device == device]
        assert seqs == list(range(1, len(seqs) + 1)), f"{device}'s events in its own order"
    assert handled.ids == sent_ids, "the handlers took each event once, in the sender's order"
    assert first.store.stream_position(GATEWAY) == BATCHES * PER_BATCH


def test_a_hall_stream_received_by_two_processes_during_a_hand_over_is_stored_and_handled_once(
        processes: tuple[Process, Process, Handled]) -> None:
    first, second, handled = processes
    stream = outbox()
    run_both(first, second, (stream, stream))
    assert_the_stream_is_stored_once_in_order(stream, first, handled)
    assert first.stored + second.stored == BATCHES * PER_BATCH


def test_a_hall_stream_shared_between_two_processes_is_stored_in_order_a_batch_ahead_resent(
        processes: tuple[Process, Process, Handled]) -> None:
    first, second, handled = processes
    stream = outbox()
    run_both(first, second, (stream[0::2], stream[1::2]))
    assert_the_stream_is_stored_once_in_order(stream, first, handled)
    assert first.stored + second.stored == BATCHES * PER_BATCH


def test_the_hall_lock_key_is_stable_and_a_signed_bigint() -> None:
    # Written down: every central process of every release must take the same lock for a hall.
    assert hall_lock_key("hall-01") == hall_lock_key("hall-01")
    assert hall_lock_key("hall-01") != hall_lock_key("hall-02")
    assert all(-(2 ** 63) <= hall_lock_key(hall) < 2 ** 63 for hall in ("hall-01", "办事大厅", ""))
    assert hall_lock_key("hall-01") == HALL_01_KEY


HALL_01_KEY = -2720649566428721624
"""sha256("hallwatch central ingest:hall-01")[:8] as a signed big-endian integer (docs/operations.md)."""
