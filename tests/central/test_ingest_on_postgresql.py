"""Central's ingest end to end on each database: a hall's gateway and devices publish through a real
Mosquitto, central admits, seals and stores each batch, and every handler and projection the ingest
always runs (as `CentralService` wires them) takes it: telemetry, queue statistics, ratings and their
follow-ups, the video directory, the complaint desk's footage holds, a booking's check-in, the hall's
watermark, and the case facts for the case engine (which keeps its own SQLite file)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from central.booking.checkins import BookingCheckIns
from central.booking.store import BookingStore, Limits, NewBooking
from central.cases.calendar import load_calendar
from central.complaints import ComplaintDesk, QueueEventVisits
from central.complaints.desk import NewComplaint
from central.config import CentralConfig
from central.deadlines import WorkingDays
from central.hall_cases import CaseFactsFromHalls
from central.hall_watermarks import HallWatermarks
from central.ingest import CentralIngest
from central.personal.events import SealingEventStore
from central.queue_stats import QueueStatsProjection, contact_for, queue_statistics
from central.ratings import RatingBook
from central.service import CentralService, departments_from, open_case_engine
from central.store import CentralStore
from central.telemetry import Telemetry, hall_views, recorders_of
from central.video.directory import FootageDirectory
from central.web.caseadapter import EngineCases
from central.web.feed import ChangeFeed, ScreenRefresh
from edge.runtime.agent import AgentConfig, EdgeAgent
from gateway.service import GatewayService
from spine.broker.runner import MosquittoBroker
from spine.clock import SystemClock
from spine.storeurl import StoreUrl
from tests.central.conftest import central_config
from tests.central.hall import HALL, start_gateway
from tests.support import wait_until

PHONE = "13712345678"


@dataclass
class Central:
    """Central's ingest as `CentralService` wires it, over a store at any URL."""

    config: CentralConfig
    store: CentralStore
    cases: EngineCases
    ingest: CentralIngest
    ratings: RatingBook
    complaints: ComplaintDesk
    directory: FootageDirectory
    bookings: BookingStore
    watermarks: HallWatermarks

    def handlers(self) -> list[object]:
        return list(self.store.handlers)


INGEST_PARTS = (Telemetry, QueueStatsProjection, RatingBook, ComplaintDesk, FootageDirectory, ScreenRefresh,
                CaseFactsFromHalls, HallWatermarks, BookingCheckIns)
"""The handlers `CentralService` puts on its store, in its order (the `hall` command adds its own)."""


def open_central(config: CentralConfig, url: StoreUrl) -> Central:
    clock = SystemClock()
    store = SealingEventStore(url, clock)
    cases = open_case_engine(config, clock, load_calendar(config.calendar_dir))
    watermarks = HallWatermarks(store, clock, behind_after_s=60)
    ingest = CentralIngest(config, store, clock, case_scope=cases.scope, on_heartbeat=watermarks.heartbeat)
    ratings = RatingBook(config.ratings, WorkingDays())
    complaints = ComplaintDesk(store, config.complaints, working_days=WorkingDays(), send=ingest.send_command,
                               recorders=partial(recorders_of, store), visits=QueueEventVisits(store),
                               unit_of=departments_from(ratings))
    directory = FootageDirectory(store)
    bookings = BookingStore(store)
    projections = (Telemetry(), QueueStatsProjection(), ratings, complaints, directory)
    for projection in projections:
        projection.install(store)
    store.handlers.extend([*projections, ScreenRefresh(ChangeFeed()), CaseFactsFromHalls(cases.record),
                           watermarks, BookingCheckIns(bookings)])
    return Central(config, store, cases, ingest, ratings, complaints, directory, bookings, watermarks)


@pytest.fixture
def central(tmp_path: Path, broker: MosquittoBroker, store_url: StoreUrl) -> Iterator[Central]:
    central = open_central(central_config(tmp_path, broker.port), store_url)
    central.ingest.start()
    yield central
    central.ingest.stop()
    central.store.close()
    central.cases.close()
    central.cases.engine.close()


def device(tmp_path: Path, broker: MosquittoBroker, name: str, kind: str,
           on_command: Callable[[mqtt.MQTTMessage], None] | None = None) -> EdgeAgent:
    agent = EdgeAgent(AgentConfig.model_validate({
        "device": {"id": name, "hall": HALL, "kind": kind},
        "broker": {"port": broker.port},
        "outbox": {"path": str(tmp_path / name / "outbox.sqlite")},
        "uplink": {"heartbeat_s": 1},
    }))
    if on_command is not None:  # before it connects: it subscribes to its commands then
        agent.on_command(on_command)
    agent.start()
    return agent


@pytest.fixture
def gateway(tmp_path: Path, broker: MosquittoBroker, central: Central) -> Iterator[GatewayService]:
    gateway = start_gateway(tmp_path, broker.port, [{"id": "kiosk-01", "kind": "kiosk"},
                                                    {"id": "rec-01", "kind": "recorder"}])
    yield gateway
    gateway.stop()


def test_the_ingest_wires_the_handlers_central_service_puts_on_its_store(
        tmp_path: Path, broker: MosquittoBroker) -> None:
    service = CentralService(central_config(tmp_path, broker.port))
    try:
        assert tuple(type(handler) for handler in service.store.handlers) == INGEST_PARTS
    finally:
        service.stop()


def test_a_halls_batches_reach_every_projection_the_ingest_runs(
        tmp_path: Path, broker: MosquittoBroker, central: Central, gateway: GatewayService) -> None:
    assert tuple(type(handler) for handler in central.handlers()) == INGEST_PARTS
    now = central.store.clock.wall_ms()
    code = central.bookings.book(NewBooking(
        hall=HALL, day="2026-11-23", slot="10:30", starts_at=now, ends_at=now + 1_800_000,
        department="市场监管局", matter_id="scjg-spjy", matter="食品经营许可", service="A", officer="101",
        officer_name="王小明", window="w03", phone=PHONE), Limits(2, 8, 2), now - 1)
    holds: list[dict[str, Any]] = []
    held = threading.Event()

    def on_command(message: mqtt.MQTTMessage) -> None:
        holds.append(json.loads(message.payload))
        held.set()

    kiosk = device(tmp_path, broker, "kiosk-01", "kiosk")
    recorder = device(tmp_path, broker, "rec-01", "recorder", on_command)
    try:
        wait_until(lambda: {"kiosk-01", "rec-01"} <= {d.device for view in hall_views(central.store, HALL)
                                                      for d in view.devices if d.online},
                   30, "central to see both devices online")
        # The gateway's device.online, with the device's kind, is in the log: a complaint's hold finds it.
        wait_until(lambda: recorders_of(central.store, HALL) == ["rec-01"], 30,
                   "central to know its recorder")
        kiosk.record("queue.ticket_issued", {
            "ticket": "A001", "day": "2026-11-23", "service": "A", "service_name": "食品经营", "number": 1,
            "slot": 1, "appointment": code, "people_ahead": 0, "issued_at": now})
        recorder.record("recorder.camera_state", {"camera": "cam-w03", "state": "recording", "since": now,
                                                  "restarts": 0})
        visit = {"day": "2026-11-23", "ticket": "A001", "service": "A", "window": "w03", "officer": "101"}
        gateway.store.record_own("queue.called", {**visit, "at": now + 60_000, "issued_at": now,
                                                  "waiting_since": now, "wait_ms": 60_000})
        gateway.store.record_own("queue.served", {**visit, "at": now + 300_000, "called_at": now + 60_000,
                                                  "service_ms": 240_000})
        gateway.store.record_own("rating.recorded", {
            "hall": HALL, "window": "w03", "officer": "101", "department": "市场监管局", "how": "session",
            "rating": "rating-0001", "terminal": "rating-w03", "grade": "dissatisfied",
            "rated_at": now + 301_000, "source_event": "e" * 32})

        def served() -> int:
            return sum(f.served for f in central.store.read(lambda tx: queue_statistics(tx, by="hall")))

        wait_until(served, 30, "the queue statistics to count the served visit")
        # The kiosk's ticket comes by its own uplink, the gateway's facts by the gateway's.
        booked = wait_until(lambda: (b := central.bookings.get(code)) and b.state == "checked_in" and b, 30,
                            "the kiosk's ticket to check the booking in")
        assert booked.ticket == "A001"
        # Each of the gateway's facts may come in a batch of its own: wait for each where it lands.
        (rated,) = wait_until(lambda: central.ratings.satisfaction("department"), 30, "the rating at central")
        assert (rated.key, rated.rated, rated.bad) == ("市场监管局", 1, 1)
        assert [f.state for f in central.ratings.followups(now)] == ["open"]
        wait_until(lambda: central.directory.cameras(HALL), 30, "the recorder's camera at central")
        assert central.watermarks.current().get(f"hall:{HALL}", 0) > 0
        assert central.store.read(lambda tx: contact_for(tx, HALL, "2026-11-23", "A001")) is None

        complaint = central.complaints.receive(NewComplaint(hall=HALL, summary="态度差", ticket="A001",
                                                            phone=PHONE), actor="office")
        shown = central.complaints.get(complaint)
        assert (shown["window"], shown["officer"], shown["unit"]) == ("w03", "101", "市场监管局")
        assert held.wait(30), "the footage hold never reached rec-01"
        hold = holds[0]["hold"]
        recorder.record("recorder.hold", {
            "hold_id": f"{hold['hold_id']}:cam-w03", "camera": "cam-w03", "start": hold["from"],
            "end": hold["to"], "until": hold["until"], "who": hold["who"], "why": hold["why"],
            "state": "active", "placed_at": now, "source": "command", "held_segments": 2})
        wait_until(lambda: central.complaints.holds(complaint)[0]["confirmed_at"], 30,
                   "the recorder's confirmation of the hold")
        assert central.complaints.contact(complaint)["phone"] == PHONE
        assert central.complaints.verify()["ok"] and central.ratings.verify_log() is None
        assert central.bookings.verify()["ok"]
    finally:
        kiosk.stop()
        recorder.stop()
