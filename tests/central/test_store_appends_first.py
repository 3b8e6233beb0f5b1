"""A batch that admission cannot refuse is appended to the log before its handlers run, and on
PostgreSQL the server stores it while they do (`EventLog.send_all`, `spine.pgcopy`): whatever
happens meanwhile, the batch is stored whole or not at all, and the connection stays usable.
And the store itself checks that a batch follows its sender's stream, inside its transaction
(`CentralStore.checks_order`). On SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import exc as sql_errors
from sqlalchemy import text

from central.store import EVENT_LOG, CentralStore
from contract.envelope import Batch, Envelope, Received
from spine.clock import SimulatedClock
from spine.handlers import HandlerContext
from spine.receiver import AcceptedEvent, DeadLetter, IncomingBatch, OutOfOrder
from spine.statement import Statement, settle
from spine.storeurl import StoreUrl

T0 = 1_780_000_000_000
GATEWAY = "gw-hall-01"
CASE_FACT = "case.entered"
"""A type admission judges (`HallTrust.judges`): a unit's case fact."""


@pytest.fixture
def store(store_url: StoreUrl) -> Iterator[CentralStore]:
    store = CentralStore(store_url, SimulatedClock(T0))
    yield store
    store.close()


def envelope(seq: int, type: str = "gateway.heartbeat") -> Envelope:
    return Envelope(v=1, id=uuid.uuid4().hex, device=GATEWAY, seq=seq, boot="boot0001", time=T0 + seq,
                    mono=0, type=type, body={"n": seq},
                    recv=Received(by=GATEWAY, at=T0 + seq, est_time=T0 + seq))


def batch_of(envelopes: list[Envelope], *, after: int | None = None, last: int | None = None
             ) -> IncomingBatch:
    batch = Batch(v=1, batch=uuid.uuid4().hex, sender=GATEWAY, boot="boot0001", sent_at=0, sent_mono=0,
                  events=[e.model_dump() for e in envelopes], after=after, last=last)
    return IncomingBatch(topic="central/hall-01/events", batch=batch, received_at=0,
                         events=[AcceptedEvent(e, e.model_dump_json(), True) for e in envelopes])


def seqs(store: CentralStore) -> list[int]:
    statement = Statement(lambda _dialect: text("SELECT seq FROM events ORDER BY id"))
    return [row[0] for row in store.read(lambda tx: statement.run(tx).fetchall())]


class Recorder:
    """A handler that notes each event it is fed and, if told to, fails at one of them or runs
    a statement of its own while the batch's rows may still be on their way."""

    def __init__(self) -> None:
        self.fed: list[int] = []
        self.fail_at: int | None = None
        self.read_at: int | None = None
        self.counted: list[int] = []

    def handle(self, context: HandlerContext, event: AcceptedEvent) -> None:
        seq = event.envelope.seq
        if seq == self.fail_at:
            raise RuntimeError(f"handler failed at {seq}")
        if seq == self.read_at:
            count = Statement(lambda _dialect: text("SELECT count(*) FROM events"))
            self.counted.append(count.run(context.portable).fetchone()[0])
        self.fed.append(seq)


def test_a_batch_is_handled_in_order_and_stored_whole(store: CentralStore) -> None:
    recorder = Recorder()
    store.handlers.append(recorder)
    first = [envelope(seq) for seq in range(1, 51)]
    assert store.commit(batch_of(first), []) == (50, 0)
    # A resend of ten beside ten new ones, one of them twice: only the new are handled.
    again = first[40:] + [envelope(seq) for seq in range(51, 61)]
    assert store.commit(batch_of(again + [again[-1]]), []) == (10, 11)

    assert recorder.fed == list(range(1, 61))
    assert seqs(store) == list(range(1, 61))


def test_a_handler_failing_while_the_rows_are_on_their_way_stores_nothing_and_the_store_goes_on(
        store: CentralStore) -> None:
    recorder = Recorder()
    recorder.fail_at = 30
    store.handlers.append(recorder)
    with pytest.raises(RuntimeError, match="handler failed at 30"):
        store.commit(batch_of([envelope(seq) for seq in range(1, 51)]), [])
    assert seqs(store) == []

    recorder.fail_at = None
    assert store.commit(batch_of([envelope(seq) for seq in range(51, 61)]), []) == (10, 0)
    assert seqs(store) == list(range(51, 61))


def test_a_handler_that_reads_meanwhile_first_waits_for_the_rows(store: CentralStore) -> None:
    recorder = Recorder()
    recorder.read_at = 7
    store.handlers.append(recorder)
    assert store.commit(batch_of([envelope(seq) for seq in range(1, 21)]), []) == (20, 0)
    # The batch's rows were appended before its first event was handled: its own read sees them.
    assert recorder.counted == [20]
    assert seqs(store) == list(range(1, 21))


def test_a_batch_with_a_fact_admission_judges_is_admitted_event_by_event(store: CentralStore) -> None:
    recorder = Recorder()
    store.handlers.append(recorder)
    admitted: list[int] = []

    def admit(_context: HandlerContext, event: AcceptedEvent) -> Any:
        admitted.append(event.envelope.seq)
        # The events before it were handled already, as admission expects.
        assert recorder.fed == [seq for seq in range(1, event.envelope.seq)]
        return event

    store.admit = admit
    store.judges = lambda event: event.envelope.type == CASE_FACT
    assert store.commit(batch_of([envelope(1), envelope(2), envelope(3)]), []) == (3, 0)
    assert admitted == []  # none of them is one it judges: appended first, no question asked

    assert store.commit(batch_of([envelope(4), envelope(5, CASE_FACT), envelope(6)]), []) == (3, 0)
    assert admitted == [4, 5, 6]
    assert seqs(store) == [1, 2, 3, 4, 5, 6]


def test_a_copy_that_slipped_past_the_question_fails_when_its_answer_is_read(store: CentralStore) -> None:
    # On PostgreSQL the batch's COPY is answered later: its refusal comes when the answer is read
    # (`settle`), and the transaction then rolls back whole. SQLite's INSERT skips the copy.
    first = envelope(1)
    store.commit(batch_of([first]), [])
    row = {"hall": "hall-01", "device": GATEWAY, "seq": 1, "type": "gateway.heartbeat",
           "device_time": T0, "received_at": T0, "payload": "{}"}
    refused = False
    try:
        with store.sql_transaction() as sql:
            EVENT_LOG.send_all(sql, [(uuid.uuid4().hex, row), (first.id, row)])
            settle(sql)
    except sql_errors.IntegrityError:
        refused = True
    assert refused == (store.dialect == "postgresql")
    assert len(seqs(store)) == (1 if refused else 2)
    assert store.commit(batch_of([envelope(2)]), []) == (1, 0)


def test_a_batch_that_does_not_follow_its_stream_stores_nothing_not_even_its_dead_letters(
        store: CentralStore) -> None:
    assert store.commit(batch_of([envelope(1), envelope(2)], last=2), []) == (2, 0)
    letter = DeadLetter(topic="central/hall-01/events", sender=GATEWAY, reason="malformed",
                        payload=b"{}", event_id="e-9", alarm=False, event_type=None)

    with pytest.raises(OutOfOrder, match="after 5"):
        store.commit(batch_of([envelope(6), envelope(7)], after=5, last=7), [letter])
    assert seqs(store) == [1, 2]
    assert store.stream_position(GATEWAY) == 2
    assert store.read(lambda tx: Statement(lambda _d: text("SELECT count(*) FROM dead_letters"))
                      .run(tx).fetchone()[0]) == 0

    # Its predecessor, then it: both follow.
    predecessor = [envelope(3), envelope(4), envelope(5)]
    assert store.commit(batch_of(predecessor, after=2, last=5), []) == (3, 0)
    assert store.commit(batch_of([envelope(6), envelope(7)], after=5, last=7), [letter]) == (2, 0)
    assert store.stream_position(GATEWAY) == 7
    # A resend of what is stored already follows too: duplicates.
    assert store.commit(batch_of(predecessor, after=2, last=5), []) == (0, 3)
    assert seqs(store) == [1, 2, 3, 4, 5, 6, 7]


def test_after_a_batch_failed_or_stored_the_store_s_other_transactions_still_roll_back_whole(
        store: CentralStore) -> None:
    # A batch opens its transaction itself (`begin_in_pipeline`, the driver told it is in
    # autocommit mode meanwhile): afterwards a transaction of the store is one again.
    recorder = Recorder()
    recorder.fail_at = 2
    store.handlers.append(recorder)
    with pytest.raises(RuntimeError):
        store.commit(batch_of([envelope(1), envelope(2)]), [])
    recorder.fail_at = None
    assert store.commit(batch_of([envelope(3)]), []) == (1, 0)

    write = Statement(lambda _dialect: text("INSERT INTO streams (sender, position) VALUES ('gw-x', 1)"))
    with pytest.raises(RuntimeError, match="on purpose"), store.sql_transaction() as sql:
        write.run(sql)
        raise RuntimeError("on purpose")
    assert store.stream_position("gw-x") is None
    assert seqs(store) == [3]
