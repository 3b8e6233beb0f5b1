"""The edge outbox: durable before anything else, positions never reused, space policy never silent."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from edge.runtime.agent import AgentConfig, EdgeAgent
from spine.clock import SimulatedClock
from spine.config import OutboxSettings
from spine.database import Database
from spine.outbox import Outbox, OutboxFull, PendingEvent
from spine.recorder import EventRecorder


def recorder(path: Path, **settings: int) -> EventRecorder:
    return EventRecorder(Outbox(path, OutboxSettings(**settings)), "sim-01", SimulatedClock())


def test_a_recorded_event_is_in_the_file_when_record_returns(tmp_path: Path) -> None:
    first = recorder(tmp_path / "o.sqlite")
    event = first.record("sim.counter", {"n": 1})

    reopened = Outbox(tmp_path / "o.sqlite", OutboxSettings())
    rows = reopened.read_after(0, 10, 1 << 20)
    assert [row.pos for row in rows] == [event.seq] == [1]
    assert event.event_id in rows[0].payload


def test_sequence_numbers_never_repeat_after_rows_are_acknowledged(tmp_path: Path) -> None:
    first = recorder(tmp_path / "o.sqlite")
    seqs = [first.record("sim.counter", {"n": n}).seq for n in (1, 2, 3)]
    first.outbox.delete(seqs)
    first.outbox.close()

    second = recorder(tmp_path / "o.sqlite")
    assert second.record("sim.counter", {"n": 4}).seq == 4


def test_routine_telemetry_is_dropped_before_essential_events_and_counted(tmp_path: Path) -> None:
    rec = recorder(tmp_path / "o.sqlite", max_bytes=64 * 1024, min_free_disk_bytes=0)
    essential = [rec.record("sim.counter", {"n": n, "pad": "x" * 1000}) for n in range(1, 21)]
    routine = [rec.record("sim.reading", {"n": n, "value": 1.0}) for n in range(1, 400)]

    waiting_bytes = rec.outbox.depth()[1]
    kept = {row.pos for row in rec.outbox.read_after(0, 10_000, 1 << 30)}
    assert waiting_bytes <= 64 * 1024
    assert all(event.seq in kept for event in essential)
    dropped = rec.outbox.drop_totals()["outbox_full"]["sim.reading"]
    assert dropped > 0
    assert len(kept) == len(essential) + len(routine) - dropped


def test_essential_events_are_kept_beyond_the_cap(tmp_path: Path) -> None:
    rec = recorder(tmp_path / "o.sqlite", max_bytes=64 * 1024, min_free_disk_bytes=0)
    events = [rec.record("sim.counter", {"n": n, "pad": "x" * 2000}) for n in range(1, 60)]

    assert all(event.stored for event in events)
    assert rec.outbox.depth()[0] == 59
    assert rec.outbox.depth()[1] > 64 * 1024
    assert rec.outbox.drop_totals() == {}


def test_a_routine_event_is_refused_when_only_essential_ones_are_left(tmp_path: Path) -> None:
    rec = recorder(tmp_path / "o.sqlite", max_bytes=64 * 1024, min_free_disk_bytes=0)
    for n in range(1, 40):
        rec.record("sim.counter", {"n": n, "pad": "x" * 2000})

    refused = rec.record("sim.reading", {"n": 1})

    assert not refused.stored
    assert rec.outbox.drop_totals() == {"outbox_full": {"sim.reading": 1}}


def test_an_essential_event_meeting_a_full_disk_is_refused_loudly_and_not_stored(tmp_path: Path) -> None:
    # The floor applies far below the cap too: a card smaller than the cap, footage on the same disk.
    rec = recorder(tmp_path / "o.sqlite", max_bytes=64 * 1024 * 1024, min_free_disk_bytes=1 << 62)

    with pytest.raises(OutboxFull, match="free"):
        rec.record("sim.counter", {"n": 1, "pad": "x" * 2000})

    assert rec.outbox.depth() == (0, 0)
    assert rec.outbox.last_pos == 0  # no sequence number was used up
    assert rec.outbox.storage().full


def test_a_routine_event_meeting_a_full_disk_is_dropped_and_counted_not_raised(tmp_path: Path) -> None:
    rec = recorder(tmp_path / "o.sqlite", min_free_disk_bytes=1 << 62)

    events = [rec.record("sim.reading", {"n": n, "value": 1.0}) for n in range(1, 4)]

    assert not any(event.stored for event in events)
    assert rec.outbox.drop_totals() == {"disk_full": {"sim.reading": 3}}
    assert rec.outbox.depth() == (0, 0)


def test_recording_resumes_by_itself_once_the_disk_has_room_and_every_drop_is_reported_once(
    tmp_path: Path,
) -> None:
    rec = recorder(tmp_path / "o.sqlite", min_free_disk_bytes=1 << 62)
    rec.record("sim.reading", {"n": 1, "value": 1.0})
    with pytest.raises(OutboxFull):
        rec.report_drops()  # the report is essential: no room for it either

    rec.outbox.settings = OutboxSettings(min_free_disk_bytes=0)  # space came back
    assert not rec.outbox.check_disk().full
    assert rec.record("sim.counter", {"n": 1}).stored
    assert rec.report_drops() == 1
    assert rec.report_drops() == 0
    rec.outbox.close()

    reopened = Outbox(tmp_path / "o.sqlite", OutboxSettings())
    assert reopened.drop_totals() == {"disk_full": {"sim.reading": 1}}
    assert reopened.unreported_drops() == {}
    reports = [row.payload for row in reopened.read_after(0, 10, 1 << 20) if "device.dropped" in row.payload]
    assert len(reports) == 1 and '"disk_full":{"sim.reading":1}' in reports[0]


def test_an_invalid_body_is_refused_at_the_source(tmp_path: Path) -> None:
    rec = recorder(tmp_path / "o.sqlite")
    with pytest.raises(ValidationError):
        rec.record("sim.counter", {"n": 0})
    assert rec.outbox.depth() == (0, 0)


def test_drops_are_reported_upstream_once_as_an_essential_event(tmp_path: Path) -> None:
    config = AgentConfig.model_validate(
        {
            "device": {"id": "sim-01", "hall": "hall-01", "kind": "sim"},
            "outbox": {"path": str(tmp_path / "o.sqlite"), "max_bytes": 65536, "min_free_disk_bytes": 0},
        }
    )
    agent = EdgeAgent(config, clock=SimulatedClock())
    for n in range(1, 40):
        agent.record("sim.counter", {"n": n, "pad": "x" * 2000})
    for n in range(1, 4):
        agent.record("sim.reading", {"n": n})

    agent.report_drops_now()
    agent.report_drops_now()

    reports = [
        row.payload for row in agent.outbox.read_after(0, 1000, 1 << 30) if '"device.dropped"' in row.payload
    ]
    assert len(reports) == 1
    assert '"sim.reading":3' in reports[0]


def test_an_agent_cut_off_from_its_broker_stays_idle(tmp_path: Path) -> None:
    import resource
    import threading

    config = AgentConfig.model_validate(
        {
            "device": {"id": "sim-01", "hall": "hall-01", "kind": "sim"},
            "broker": {"port": 9},  # nothing listens: the gateway is unreachable
            "outbox": {"path": str(tmp_path / "o.sqlite")},
        }
    )
    agent = EdgeAgent(config)
    agent.start()
    agent.record("sim.counter", {"n": 1})
    before = resource.getrusage(resource.RUSAGE_SELF)
    threading.Event().wait(2.0)  # the measurement window: two seconds of being cut off
    after = resource.getrusage(resource.RUSAGE_SELF)
    agent.stop()

    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    assert cpu < 0.5, f"the uplink burnt {cpu:.2f} s of CPU in 2 s while disconnected"


def test_an_outbox_in_a_shared_database_counts_only_what_committed(tmp_path: Path) -> None:
    db = Database(tmp_path / "node.sqlite")
    outbox = Outbox(db, OutboxSettings())
    event = PendingEvent("event-0001", "sim.counter", True, '{"n":1}')
    with pytest.raises(RuntimeError), db.transaction() as tx:
        outbox.enqueue_in(tx, [event])
        raise RuntimeError("a handler failed: the event and its forward row go together")
    assert outbox.depth() == (0, 0) and outbox.read_after(0, 10, 1 << 20) == []

    with db.transaction() as tx:
        outbox.enqueue_in(tx, [event])
    assert outbox.depth() == (1, len(event.payload))
    outbox.close()  # the database is its owner's to close
    assert db.query("SELECT count(*) FROM outbox") == [(1,)]
    db.close()


def test_a_sender_reads_and_forgets_while_a_receiver_holds_the_shared_file(tmp_path: Path) -> None:
    # The gateway's forwarder and its ingest share one file: the ingest's group commit may hold
    # it for a whole round of device batches, and the forwarder must not stop meanwhile.
    db = Database(tmp_path / "node.sqlite")
    outbox = Outbox(db, OutboxSettings())
    events = [PendingEvent(f"event-{n:04d}", "sim.counter", True, f'{{"n":{n}}}') for n in (1, 2, 3)]
    with db.transaction() as tx:
        outbox.enqueue_in(tx, events)
    sent = outbox.read_after(0, 10, 1 << 20)
    holding, release = threading.Event(), threading.Event()

    def receiver_holding_the_file() -> None:
        with db.transaction():
            holding.set()
            release.wait(10)

    receiver = threading.Thread(target=receiver_holding_the_file)
    receiver.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        assert outbox.delete([sent[0].pos]) == 0  # not now: the file is taken
        assert [row.pos for row in outbox.read_after(0, 10, 1 << 20)] == [sent[1].pos, sent[2].pos]
        assert outbox.position_before(sent[2].pos) == sent[1].pos
        assert time.monotonic() - started < 1.0, "the sender waited for the receiver's transaction"
    finally:
        release.set()
        receiver.join(10)
    assert db.query("SELECT pos FROM outbox ORDER BY pos") == [(row.pos,) for row in sent]

    # The next receiving transaction takes the acknowledged row along, and only once it commits.
    more = PendingEvent("event-0004", "sim.counter", True, '{"n":4}')
    with pytest.raises(RuntimeError), db.transaction() as tx:
        outbox.enqueue_in(tx, [more])
        raise RuntimeError("that batch failed")
    assert db.query("SELECT count(*) FROM outbox") == [(3,)]
    assert outbox.depth() == (3, sum(len(event.payload) for event in events))
    with db.transaction() as tx:
        outbox.enqueue_in(tx, [more])
    assert db.query("SELECT count(*) FROM outbox") == [(3,)]
    waiting = [row.pos for row in outbox.read_after(0, 10, 1 << 20)]
    assert waiting == [sent[1].pos, sent[2].pos, sent[2].pos + 1]
    assert outbox.depth()[0] == 3
    outbox.close()
    db.close()


def test_acknowledged_rows_left_by_a_busy_writer_go_at_the_next_tidy(tmp_path: Path) -> None:
    db = Database(tmp_path / "node.sqlite")
    outbox = Outbox(db, OutboxSettings())
    with db.transaction() as tx:
        outbox.enqueue_in(tx, [PendingEvent("event-0001", "sim.counter", True, '{"n":1}')])
    (row,) = outbox.read_after(0, 10, 1 << 20)
    with db.lock:  # as if a writer held the file from another thread
        forgot = threading.Thread(target=outbox.delete, args=([row.pos],))
        forgot.start()
        forgot.join(10)
    assert db.query("SELECT count(*) FROM outbox") == [(1,)] and outbox.read_after(0, 10, 1 << 20) == []
    assert outbox.position_before(row.pos + 1) is None  # acknowledged: nothing waits before
    assert outbox.tidy() == 1
    assert db.query("SELECT count(*) FROM outbox") == [(0,)] and outbox.depth() == (0, 0)
    outbox.close()
    db.close()


def test_a_sender_that_saw_nothing_does_not_wait_for_a_change_it_already_missed(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite", OutboxSettings())
    seen = outbox.version
    outbox.notify()  # a row committed between the sender's look and its wait
    started = time.monotonic()
    outbox.wait_for_change(5.0, since=seen)
    assert time.monotonic() - started < 1.0
    outbox.close()


def test_a_forwarded_event_already_in_the_log_is_a_reference_not_a_second_copy(tmp_path: Path) -> None:
    db = Database(tmp_path / "node.sqlite")
    db.ensure_schema("CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT NOT NULL);")
    outbox = Outbox(db, OutboxSettings(), payloads_in="events")
    logged, masked = '{"n":1,"pad":"' + "x" * 300 + '"}', '{"phone":"138****1234"}'
    with db.transaction() as tx:
        (ref,) = tx.execute("INSERT INTO events (payload) VALUES (?) RETURNING id", (logged,)).fetchone()
        tx.execute("INSERT INTO events (payload) VALUES (?)", (masked,))
        outbox.enqueue_in(tx, [
            PendingEvent("event-0001", "sim.counter", False, logged, ref),
            # The log keeps this one masked: the clear copy travels in the outbox itself.
            PendingEvent("event-0002", "queue.contact_given", True, '{"phone":"13812341234"}'),
        ])

    assert [row.payload for row in outbox.read_after(0, 10, 1 << 20)] == [logged, '{"phone":"13812341234"}']
    assert db.query("SELECT length(payload) FROM outbox ORDER BY pos") == [(0,), (23,)]
    assert outbox.depth() == (2, len(logged) + 23)
    reopened = Outbox(db, OutboxSettings(), payloads_in="events")
    assert reopened.depth() == (2, len(logged) + 23)
    first = outbox.read_after(0, 1, 1 << 20)[0].pos
    assert outbox.delete([first]) == 1 and outbox.depth() == (1, 23)
    db.close()


def test_an_outbox_made_before_references_gets_their_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old = Database(path)
    old.ensure_schema("CREATE TABLE outbox (pos INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, "
                      "type TEXT NOT NULL, essential INTEGER NOT NULL, payload TEXT NOT NULL);")
    with old.transaction() as tx:
        tx.execute("INSERT INTO outbox (event_id, type, essential, payload) "
                   "VALUES ('e1', 'sim.counter', 0, '{}')")
    old.close()

    outbox = Outbox(path, OutboxSettings())
    assert [row.payload for row in outbox.read_after(0, 10, 1 << 20)] == ["{}"]
    assert outbox.depth() == (1, 2)
    outbox.close()
