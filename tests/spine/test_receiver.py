"""A gateway receiving batches: valid events stored once, everything else dead-lettered with a reason."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from contract.envelope import MAX_MESSAGE_BYTES, Received
from gateway.config import GatewayConfig
from gateway.service import GatewayService
from spine.clock import SimulatedClock
from spine.config import OutboxSettings
from spine.outbox import Outbox
from spine.receiver import AcceptedEvent, DeadLetter, IncomingBatch, stamp_json
from spine.recorder import EventRecorder
from spine.uplink import build_batch

TOPIC = "hall/hall-01/dev/sim-01/events"
DAY_MS = 24 * 3600 * 1000


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock()


@pytest.fixture
def gateway(tmp_path: Path, clock: SimulatedClock) -> GatewayService:
    config = GatewayConfig.model_validate(
        {"store_path": str(tmp_path / "gw.sqlite"), "devices": {"known": [{"id": "sim-01"}]}}
    )
    return GatewayService(config, clock=clock)


@pytest.fixture
def device(tmp_path: Path, clock: SimulatedClock) -> EventRecorder:
    return EventRecorder(Outbox(tmp_path / "dev.sqlite", OutboxSettings()), "sim-01", clock)


def batch_of(
    device: EventRecorder, clock: SimulatedClock, batch_id: str = "batch-1", sender: str = "sim-01"
) -> bytes:
    rows = device.outbox.read_after(0, 1000, 1 << 30)
    return build_batch(batch_id, sender, clock, [row.payload for row in rows]).encode()


def gateway_rows(gateway: GatewayService, sql: str) -> list[tuple[object, ...]]:
    return gateway.db.query(sql)


def test_a_valid_batch_is_stored_then_acknowledged(
    gateway: GatewayService, device: EventRecorder, clock: SimulatedClock
) -> None:
    for n in (1, 2, 3):
        device.record("sim.counter", {"n": n})

    ack = gateway.receiver.receive(TOPIC, "sim-01", batch_of(device, clock))

    assert ack is not None and (ack.stored, ack.duplicates, ack.rejected) == (3, 0, [])
    assert gateway_rows(gateway, "SELECT seq FROM events WHERE device='sim-01' ORDER BY id") == [
        (1,),
        (2,),
        (3,),
    ]
    assert gateway.outbox.depth()[0] == 3  # queued for central in the same transaction


def test_a_resend_three_days_later_is_still_a_duplicate(
    gateway: GatewayService, device: EventRecorder, clock: SimulatedClock
) -> None:
    device.record("sim.counter", {"n": 1})
    gateway.receiver.receive(TOPIC, "sim-01", batch_of(device, clock, "first"))
    clock.advance(3 * DAY_MS)

    ack = gateway.receiver.receive(TOPIC, "sim-01", batch_of(device, clock, "resend"))

    assert ack is not None and (ack.stored, ack.duplicates) == (0, 1)
    assert gateway_rows(gateway, "SELECT count(*) FROM events WHERE device='sim-01'") == [(1,)]


def test_an_event_twice_in_one_batch_beside_one_already_held_is_stored_once(
    gateway: GatewayService, device: EventRecorder, clock: SimulatedClock
) -> None:
    for n in (1, 2):
        device.record("sim.counter", {"n": n})
    first, second = [row.payload for row in device.outbox.read_after(0, 10, 1 << 20)]
    gateway.receiver.receive(TOPIC, "sim-01", build_batch("first", "sim-01", clock, [first]).encode())

    ack = gateway.receiver.receive(
        TOPIC, "sim-01", build_batch("mixed", "sim-01", clock, [first, second, second]).encode())

    assert ack is not None and (ack.stored, ack.duplicates, ack.rejected) == (1, 2, [])
    assert gateway_rows(gateway, "SELECT seq FROM events WHERE device='sim-01' ORDER BY id") == [(1,), (2,)]
    assert gateway.outbox.depth()[0] == 2  # each forwarded once


def test_one_bad_event_is_dead_lettered_and_its_neighbours_are_stored(
    gateway: GatewayService, device: EventRecorder, clock: SimulatedClock
) -> None:
    good = [device.record("sim.counter", {"n": n}) for n in (1, 2)]
    rows = [row.payload for row in device.outbox.read_after(0, 10, 1 << 20)]
    bad = json.loads(rows[0]) | {"id": "bad-event-0001", "seq": 9, "body": {"n": -5}}
    payload = build_batch("mixed", "sim-01", clock, [rows[0], json.dumps(bad), rows[1]]).encode()

    ack = gateway.receiver.receive(TOPIC, "sim-01", payload)

    assert ack is not None and ack.stored == 2
    assert [(r.index, r.id) for r in ack.rejected] == [(1, "bad-event-0001")]
    assert "invalid sim.counter body" in ack.rejected[0].reason
    assert len(good) == 2
    reasons = gateway_rows(gateway, "SELECT event_id, reason FROM dead_letters")
    assert reasons[0][0] == "bad-event-0001" and "n:" in reasons[0][1]


@pytest.mark.parametrize(
    ("payload", "expect_ack", "reason"),
    [
        (b"\xff\xfe not json", False, "not JSON"),
        (b"[1, 2, 3]", False, "not a JSON object"),
        (
            json.dumps({"v": 99, "batch": "future-1", "events": []}).encode(),
            True,
            "unsupported protocol version",
        ),
        (json.dumps({"v": 1, "batch": "nofields", "events": []}).encode(), True, "malformed batch"),
        (b'{"v": 1, "pad": "' + b"x" * MAX_MESSAGE_BYTES + b'"}', False, "exceeds"),
    ],
    ids=["not-json", "not-an-object", "unknown-version", "missing-fields", "oversized"],
)
def test_malformed_messages_are_dead_lettered_with_their_reason(
    gateway: GatewayService, payload: bytes, expect_ack: bool, reason: str
) -> None:
    ack = gateway.receiver.receive(TOPIC, "sim-01", payload)

    assert (ack is not None) == expect_ack
    if ack is not None:
        assert ack.error is not None and reason in ack.error
    letters = gateway_rows(gateway, "SELECT reason, length(payload) FROM dead_letters")
    assert len(letters) == 1 and reason in str(letters[0][0])
    assert letters[0][1] == len(payload)  # kept whole: nothing is thrown away
    assert gateway_rows(gateway, "SELECT count(*) FROM events WHERE type='gateway.dead_letter'") == [(1,)]


def test_an_unknown_device_is_refused_and_counted(
    tmp_path: Path, gateway: GatewayService, clock: SimulatedClock
) -> None:
    stranger = EventRecorder(Outbox(tmp_path / "x.sqlite", OutboxSettings()), "stranger-9", clock)
    stranger.record("sim.counter", {"n": 1})

    ack = gateway.receiver.receive(
        "hall/hall-01/dev/stranger-9/events", "stranger-9", batch_of(stranger, clock, sender="stranger-9")
    )

    assert ack is not None and ack.error is not None and "unknown device 'stranger-9'" in ack.error
    assert gateway_rows(gateway, "SELECT count(*) FROM events WHERE device='stranger-9'") == [(0,)]
    assert gateway.receiver.counters["rejected"] == 1


def test_a_device_cannot_send_events_in_another_devices_name(
    tmp_path: Path, gateway: GatewayService, clock: SimulatedClock
) -> None:
    other = EventRecorder(Outbox(tmp_path / "o.sqlite", OutboxSettings()), "sim-02", clock)
    other.record("sim.counter", {"n": 1})
    forged = batch_of(other, clock, sender="sim-01")

    ack = gateway.receiver.receive(TOPIC, "sim-01", forged)

    assert ack is not None and ack.stored == 0
    assert "event of device 'sim-02' sent by 'sim-01'" in ack.rejected[0].reason


def test_a_refused_message_is_kept_with_its_personal_data_masked(gateway: GatewayService) -> None:
    phone = b'{"type": "queue.contact_given", "phone": "13812345678"}'
    binary = b"\xff\xfe junk 13912345678 \x00"
    for payload in (phone, binary):
        gateway.receiver.receive(TOPIC, "sim-01", payload)

    kept = [row[0] for row in gateway_rows(gateway, "SELECT payload FROM dead_letters ORDER BY rowid")]
    assert len(kept) == 2 and not any(b"12345678" in letter for letter in kept), kept
    assert b"138" in kept[0] and b"5678" in kept[0], "masked the way a phone is masked everywhere"
    assert kept[1].startswith(b"\xff\xfe junk") and len(kept[1]) == len(binary), "binary kept byte for byte"


def test_the_same_garbage_sent_again_is_one_dead_letter_counted_twice(gateway: GatewayService) -> None:
    gateway.receiver.receive(TOPIC, "sim-01", b"garbage")
    gateway.receiver.receive(TOPIC, "sim-01", b"garbage")

    assert gateway_rows(gateway, "SELECT times FROM dead_letters") == [(2,)]


def test_stored_events_cannot_be_edited(
    gateway: GatewayService, device: EventRecorder, clock: SimulatedClock
) -> None:
    device.record("sim.counter", {"n": 1})
    gateway.receiver.receive(TOPIC, "sim-01", batch_of(device, clock))

    with pytest.raises(sqlite3.IntegrityError, match="append-only"), gateway.db.transaction() as tx:
        tx.execute("UPDATE events SET payload = '{}'")


def test_an_event_is_dated_by_the_device_monotonic_clock_when_its_wall_clock_is_wrong(
    gateway: GatewayService, device: EventRecorder, clock: SimulatedClock
) -> None:
    true_now = clock.wall_ms()
    clock.set_wall(true_now - 400 * DAY_MS)  # a Pi booted without RTC believes it is last year
    device.record("sim.counter", {"n": 1})
    clock.advance(5000)
    payload = batch_of(device, clock)
    clock.set_wall(true_now + 5000)  # the gateway's clock (shared object: set it back to the truth)

    ack = gateway.receiver.receive(TOPIC, "sim-01", payload)

    assert ack is not None and ack.stored == 1
    ((device_time, est_time, received_at),) = gateway_rows(
        gateway, "SELECT device_time, est_time, received_at FROM events WHERE device='sim-01'"
    )
    assert device_time == true_now - 400 * DAY_MS
    assert est_time == true_now  # recorded 5 s before the batch was sent
    assert received_at == true_now + 5000


def test_a_batch_that_overtakes_a_lost_one_is_sent_back_so_order_is_kept(
    gateway: GatewayService, device: EventRecorder, clock: SimulatedClock
) -> None:
    for n in (1, 2, 3, 4):
        device.record("sim.counter", {"n": n})
    rows = device.outbox.read_after(0, 10, 1 << 20)
    first = build_batch("batch-1", "sim-01", clock, [r.payload for r in rows[:2]], last=2)
    second = build_batch("batch-2", "sim-01", clock, [r.payload for r in rows[2:]], last=4, after=2)

    early = gateway.receiver.receive(TOPIC, "sim-01", second.encode())  # batch-1 was lost on the way
    gateway.receiver.receive(TOPIC, "sim-01", first.encode())
    in_order = gateway.receiver.receive(TOPIC, "sim-01", second.encode())

    assert early is not None and early.resend and early.stored == 0
    assert in_order is not None and in_order.stored == 2
    assert gateway_rows(gateway, "SELECT seq FROM events WHERE device='sim-01' ORDER BY id") == [
        (1,),
        (2,),
        (3,),
        (4,),
    ]


def heartbeat(gateway: GatewayService, clock: SimulatedClock) -> None:
    message = mqtt.MQTTMessage(topic=b"hall/hall-01/dev/sim-01/heartbeat")
    message.payload = json.dumps(
        {"state": "online", "boot": clock.boot_id(), "at": clock.wall_ms(), "mono": clock.mono_ms()}
    ).encode()
    gateway.ingest.handle(message)


def test_a_gateway_restart_still_dates_a_held_batch_by_the_device_clock(
    tmp_path: Path, gateway: GatewayService, device: EventRecorder, clock: SimulatedClock
) -> None:
    heartbeat(gateway, clock)  # ties the device's monotonic clock to the gateway's
    device.record("sim.counter", {"n": 1})
    recorded_at = clock.wall_ms()
    payload = batch_of(device, clock)
    gateway.stop()
    clock.advance(3_600_000)  # the broker held the batch for an hour while the gateway was down

    restarted = GatewayService(gateway.config, clock=clock)
    ack = restarted.receiver.receive(TOPIC, "sim-01", payload)

    assert ack is not None and ack.stored == 1
    rows = restarted.db.query("SELECT est_time, received_at FROM events WHERE device='sim-01'")
    assert rows == [(recorded_at, recorded_at + 3_600_000)]


@pytest.mark.parametrize("fields", [
    {"by": "gw-hall-01", "at": 1_796_189_183_630, "est_time": 1_796_189_183_600, "skew_ms": -30,
     "kind": "kiosk"},
    {"by": "gw-hall-01", "at": 1, "est_time": None, "skew_ms": 0, "kind": "caller", "window": 'w"3\\é'},
    {"by": "gw-hall-01", "at": 5, "officer": "张三", "unit": "户籍科"},
])
def test_the_receipt_stamp_written_directly_is_the_models_own_wire_form(fields: dict[str, object]) -> None:
    received = Received.model_validate(fields)
    assert stamp_json({**fields, "kind": received.kind}) == json.dumps(
        received.stamp(), ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("clock_tied", [False, True], ids=["batch-dated", "heartbeat-dated"])
def test_each_stored_payload_carries_the_stamp_its_handlers_were_given(
    gateway: GatewayService, device: EventRecorder, clock: SimulatedClock, clock_tied: bool
) -> None:
    # The stamp's JSON is written once per device and batch and spliced into each event's own
    # text; what is stored and forwarded must still say exactly what the handlers read.
    if clock_tied:
        heartbeat(gateway, clock)
    for n in (1, 2, 3):
        device.record("sim.counter", {"n": n})
        clock.advance(250)
    given: list[AcceptedEvent] = []
    commit = gateway.receiver.store.commit

    def keeping(incoming: IncomingBatch, dead: list[DeadLetter]) -> tuple[int, int]:
        given.extend(incoming.events)
        return commit(incoming, dead)

    gateway.receiver.store.commit = keeping  # type: ignore[method-assign]
    gateway.receiver.receive(TOPIC, "sim-01", batch_of(device, clock))

    assert len(given) == 3
    stored = dict(gateway_rows(gateway, "SELECT event_id, payload FROM events WHERE device='sim-01'"))
    for event in given:
        assert event.envelope.recv is not None
        assert json.loads(stored[event.envelope.id])["recv"] == event.envelope.recv.stamp()
        assert event.payload == stored[event.envelope.id]
    # Three events recorded 250 ms apart keep their spacing on the gateway's clock.
    est = [event.envelope.recv.est_time for event in given if event.envelope.recv is not None]
    assert [b - a for a, b in zip(est, est[1:], strict=False)] == [250, 250]
