"""The complaint desk at central's store, the same specification on SQLite and on PostgreSQL: a complaint
is accepted, its visit found in the queue facts the halls forwarded, its footage held at each recorder
until one confirms, assigned, answered once, flagged once when overdue; its log hash-chained and
append-only; the complainant's phone sealed, opened only for the call back and the SMS feed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import exc as sql_errors
from sqlalchemy import text

from central.complaints import ComplaintDesk, ComplaintError, QueueEventVisits
from central.complaints.desk import NewComplaint
from central.complaints.settings import ComplaintSettings
from central.deadlines import WorkingDays
from central.personal.events import SealingEventStore
from central.sms_feed.complaints import ComplaintFacts
from central.sms_feed.cursor import FeedCursors
from central.store import CentralStore
from spine.clock import SimulatedClock
from spine.storeurl import StoreUrl
from tests.central.events import deliver
from tests.central.hall import served

HALL = "hall-01"
T0 = 1_795_399_200_000  # 2026-11-23 10:00 +08:00
MINUTE = 60_000
PHONE = "13712345678"


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(wall_ms=T0 + 60 * MINUTE)


@pytest.fixture
def store(store_url: StoreUrl, clock: SimulatedClock) -> Iterator[CentralStore]:
    store = SealingEventStore(store_url, clock)
    yield store
    store.close()


@pytest.fixture
def sent() -> list[tuple[str, dict[str, Any]]]:
    return []


@pytest.fixture
def desk(store: CentralStore, sent: list[tuple[str, dict[str, Any]]]) -> ComplaintDesk:
    desk = ComplaintDesk(store, ComplaintSettings.model_validate({}), working_days=WorkingDays(),
                         send=lambda hall, command: sent.append((hall, command)),
                         recorders=lambda hall: ["rec-01", "rec-02"], visits=QueueEventVisits(store),
                         unit_of=lambda visit: "市场监管局" if visit.window == "w03" else None)
    desk.install(store)
    store.handlers.append(desk)
    return desk


def test_a_complaint_finds_its_visit_holds_its_footage_and_is_assigned_to_the_visits_unit(
        store: CentralStore, desk: ComplaintDesk, sent: list[tuple[str, dict[str, Any]]]) -> None:
    deliver(store, HALL, [("queue.served", served("A023", "w03", "李明", T0 + 10 * MINUTE, T0 + 20 * MINUTE),
                           T0 + 20 * MINUTE)])
    complaint = desk.receive(NewComplaint(hall=HALL, summary=f"态度差，请回电 {PHONE}", ticket="A023",
                                          complainant="张三", phone=PHONE), actor="office")
    assert complaint == "TS20261123-0001"
    shown = desk.get(complaint)
    assert (shown["window"], shown["officer"], shown["unit"], shown["state"]) == (
        "w03", "李明", "市场监管局", "assigned")
    assert PHONE not in json.dumps(shown, ensure_ascii=False) and "137****5678" in shown["summary"]
    assert desk.contact(complaint) == {"complainant": "张三", "phone": PHONE}
    assert sorted(command["device"] for _hall, command in sent) == ["rec-01", "rec-02"]
    assert [step["type"] for step in desk.history(complaint)] == [
        "complaint.received", "complaint.visit_linked", "complaint.hold_requested",
        "complaint.hold_requested", "complaint.assigned"]

    deliver(store, HALL, [("recorder.hold", {"hold_id": f"{complaint}:cam-w03", "state": "active",
                                             "camera": "cam-w03", "held_segments": 3}, T0 + 61 * MINUTE)],
            device="rec-01")
    holds = {hold["device"]: hold for hold in desk.holds(complaint)}
    assert (holds["rec-01"]["cameras"], holds["rec-01"]["held_segments"]) == (["cam-w03"], 3)
    assert holds["rec-02"]["confirmed_at"] is None
    sent.clear()
    desk._send_holds(complaint)  # what the tick resends: only the hold no recorder confirmed
    assert [command["device"] for _hall, command in sent] == ["rec-02"]


def test_a_complaint_is_answered_once_flagged_once_when_overdue_and_its_log_never_changes(
        store: CentralStore, desk: ComplaintDesk, clock: SimulatedClock) -> None:
    late = desk.receive(NewComplaint(hall=HALL, summary="无人处理", window="w04", visit_time=T0),
                        actor="office")
    answered = desk.receive(NewComplaint(hall=HALL, summary="排队太久", ticket="B404"), actor="office")
    assert desk.get(answered)["visit_problem"] is not None  # an unknown ticket: accepted all the same
    desk.answer(answered, "已致电说明，电话 13712345678", actor="市场监管局")
    with pytest.raises(ComplaintError, match="already answered"):
        desk.answer(answered, "again", actor="市场监管局")
    assert "137****5678" in desk.get(answered)["answer"]
    due = desk.get(late)["due_at"]
    assert desk.tick(T0 + 30 * 86_400_000, 3_600_000) == [late]
    assert desk.tick(T0 + 31 * 86_400_000, 3_600_000) == []
    assert due and desk.find(overdue=True) == [desk.get(late)]
    assert [c["id"] for c in desk.find(hall=HALL)] == [answered, late]
    assert [c["id"] for c in desk.find(state="answered")] == [answered]
    assert desk.verify()["ok"]
    with pytest.raises(sql_errors.IntegrityError, match="append-only"), store.sql_transaction() as sql:
        sql.execute(text("UPDATE complaint_log SET body = '{}'"))


def test_the_sms_feed_tells_the_complainant_who_left_a_phone_and_keeps_its_place(
        store: CentralStore, desk: ComplaintDesk) -> None:
    with_phone = desk.receive(NewComplaint(hall=HALL, summary="态度差", phone=PHONE), actor="office")
    desk.receive(NewComplaint(hall=HALL, summary="无电话"), actor="office")
    desk.answer(with_phone, "已整改", actor="市场监管局")
    facts = ComplaintFacts(store, desk.contact)
    chunk = facts.after(0, 10)
    told = [(f.fact_type, f.body["phone"]) for f in chunk.facts if f.body is not None]
    assert told == [("complaint.received", PHONE), ("complaint.answered", PHONE)]
    assert chunk.facts[0].body is not None and chunk.facts[0].body["due_day"]
    cursors = FeedCursors(store)
    assert cursors.get("complaints") is None
    cursors.set("complaints", facts.head(), T0)
    cursors.set("complaints", facts.head(), T0 + 1)
    assert cursors.get("complaints") == facts.head() and facts.after(facts.head(), 10).facts == []
