"""Central tells citizens, officers and units by SMS what its logs commit, each fact once.

Central runs with the simulated SMS sender: the texts are read back as the
phone would show them. Every door is used as the running service has it: the
case store's own door (API, import), the engine's tick, the complaint desk, a
hall's events.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from central.complaints import NewComplaint
from central.service import CentralService
from contract.catalog import validate_body
from spine.broker.runner import MosquittoBroker
from spine.clock import SimulatedClock
from spine.storeurl import StoreUrl
from tests.central.events import deliver
from tests.citizens.conftest import (
    CITIZEN,
    HALL,
    HOUR_MS,
    OFFICER_PHONE,
    entry,
    record,
    running,
    sender,
    texts_to,
)

UNIT_PHONE = "13700001111"


def bad_rating(rating: str, *, window: str, department: str, at: int) -> tuple[str, dict[str, Any], int]:
    """The gateway's `rating.recorded` of a 非常不满意 press, attributed to a window's unit."""
    body = {"hall": HALL, "window": window, "officer": "103", "officer_name": "张伟",
            "department": department, "service": "C", "visit": None, "how": "session", "rating": rating,
            "terminal": f"rating-w{window}", "grade": "very_dissatisfied", "rated_at": at,
            "source_event": "e" * 32}
    validate_body("rating.recorded", body)
    return "rating.recorded", body, at


def test_an_accepted_case_tells_its_citizen_the_case_number_limit_and_due_day_once(
        tmp_path: Path, broker: MosquittoBroker, clock: SimulatedClock, central: CentralService,
        central_database: StoreUrl | None) -> None:
    record(central, "case.accepted", entry("JQ-2026-1123-0001"))
    [text] = texts_to(central, CITIZEN, 1, "the acceptance SMS")
    assert text.startswith("【酒泉市政务服务中心】您申请的“食品经营许可”已于2026年11月23日受理")
    assert "受理编号JQ-2026-1123-0001" in text and "办理时限20个工作日" in text
    assert "预计2026年12月21日前办结" in text and text.endswith("回复TD退订")

    record(central, "case.accepted", entry("JQ-2026-1123-0001"))  # the same entry again: no new fact
    assert central.citizens.feed is not None and central.citizens.feed.run_once() == 0
    central.stop()
    again = running(tmp_path, broker, clock, central_database)  # a restart neither forgets nor repeats
    try:
        assert again.citizens.feed is not None
        again.citizens.feed.run_once()
        assert sender(again).texts_to(CITIZEN) == []  # a new sender: nothing was sent again
        assert len(again.citizens.sms.messages()) == 1  # type: ignore[union-attr]
    finally:
        again.stop()


def test_a_suspension_its_reason_the_resumption_and_the_completion_reach_the_citizen(
        central: CentralService) -> None:
    record(central, "case.accepted", entry("JQ-2026-1123-0002"))
    case = {"case_id": "JQ-2026-1123-0002", "by": "officer-07"}
    record(central, "case.suspended", {**case, "at": "2026-11-23T10:02", "reason": "expert_review",
                                        "note": "专家评审，联系人13812345678"})
    record(central, "case.resumed", {**case, "at": "2026-11-23T10:03"})
    record(central, "case.completed", {**case, "at": "2026-11-23T10:04"})
    accepted, suspended, resumed, completed = texts_to(central, CITIZEN, 4, "four SMS of the case")
    assert "受理编号JQ-2026-1123-0002" in accepted
    assert "自2026年11月23日起因专家评审暂停计时" in suspended
    assert "13812345678" not in suspended  # the officer's note is not told
    assert "已于2026年11月23日恢复办理" in resumed
    assert "已于2026年11月23日办结" in completed and "领取办理结果" in completed


def test_the_first_responsible_officer_is_reminded_on_the_yellow_light_day(
        central: CentralService, clock: SimulatedClock) -> None:
    record(central, "case.accepted", entry("JQ-2026-1123-0003", limit=2))  # due Wednesday 11-25
    texts_to(central, CITIZEN, 1, "the acceptance SMS")
    clock.advance(14 * HOUR_MS)  # Tuesday 00:05: the yellow light is on
    central.tick()
    [reminder] = texts_to(central, OFFICER_PHONE, 1, "the officer's reminder")
    assert reminder.startswith("【酒泉市政务服务中心】李四同志：您负责的办件JQ-2026-1123-0003"
                               "将于2026年11月25日到期")
    assert "回复TD退订" not in reminder  # officers' notices are not marketing


def test_an_officer_who_finished_but_did_not_confirm_is_warned_before_the_red_light(
        central: CentralService, clock: SimulatedClock) -> None:
    record(central, "case.accepted", entry("JQ-2026-1123-0005", limit=2))  # due Wednesday 11-25
    record(central, "case.completed", {"case_id": "JQ-2026-1123-0005", "by": "officer-07",
                                       "at": "2026-11-23T10:04"})
    clock.advance(14 * HOUR_MS)  # Tuesday 00:05: done, never confirmed, the yellow light is on
    central.tick()
    [warning] = texts_to(central, OFFICER_PHONE, 1, "the unconfirmed completion's warning")
    assert "李四同志：办件JQ-2026-1123-0005已办结但尚未在系统中确认，请于2026年11月25日前确认办结" in warning
    texts_to(central, CITIZEN, 2, "the citizen's acceptance and completion SMS")


def test_facts_from_before_sms_was_switched_on_and_facts_too_old_are_not_told(
        tmp_path: Path, broker: MosquittoBroker, clock: SimulatedClock,
        central_database: StoreUrl | None) -> None:
    silent = running(tmp_path, broker, clock, central_database, sms=False)
    try:
        assert silent.citizens.sms is None
        record(silent, "case.accepted", entry("JQ-OLD-1"))
    finally:
        silent.stop()
    central = running(tmp_path, broker, clock, central_database)
    try:
        assert central.citizens.feed is not None
        # Entered now, but accepted four days ago (a backlog typed in late): not news any more.
        record(central, "case.accepted", entry("JQ-OLD-2", applied_at="2026-11-19T09:00",
                                                accepted_at="2026-11-19T09:30"))
        record(central, "case.accepted", entry("JQ-NEW-3"))
        [text] = texts_to(central, CITIZEN, 1, "the one fresh acceptance")
        assert "JQ-NEW-3" in text
        central.citizens.feed.run_once()
        assert sender(central).texts_to(CITIZEN) == [text]
        assert central.citizens.feed.diagnostics()["cases"]["stale"] == 1
    finally:
        central.stop()


def test_a_complaint_is_acknowledged_with_its_answer_day_and_its_answer_announced(
        central: CentralService) -> None:
    number = central.complaints.receive(NewComplaint(hall=HALL, summary="窗口人员态度生硬", phone=CITIZEN,
                                                     complainant="王五"), "office")
    [received] = texts_to(central, CITIZEN, 1, "the complaint's acknowledgement")
    assert f"您的投诉（编号{number}）已受理，我们将于" in received and "前答复" in received
    central.complaints.answer(number, "已约谈窗口人员并整改", "office")
    _, answered = texts_to(central, CITIZEN, 2, "the answer's SMS")
    assert f"您的投诉（编号{number}）已答复" in answered
    anonymous = central.complaints.receive(NewComplaint(hall=HALL, summary="大厅空调太冷"), "office")
    assert central.citizens.feed is not None
    central.citizens.feed.run_once()
    assert not central.citizens.sms.messages(fact_id=f"complaint:{anonymous}")  # type: ignore[union-attr]


def test_a_bad_rating_tells_its_unit_the_rectification_deadline(
        tmp_path: Path, broker: MosquittoBroker, clock: SimulatedClock,
        central_database: StoreUrl | None) -> None:
    central = running(tmp_path, broker, clock, central_database,
                      sms_feed={"unit_phones": {"民政局": UNIT_PHONE}})
    try:
        deliver(central.store, HALL, [bad_rating("r-2026-1123-0001", window="3", department="民政局",
                                                 at=clock.wall_ms())])
        [text] = texts_to(central, UNIT_PHONE, 1, "the unit's rectification notice")
        assert text.startswith("【酒泉市政务服务中心】民政局：3号窗口收到一条“非常不满意”评价，请于")
        assert "前完成整改并回访群众" in text
    finally:
        central.stop()


def test_erasing_a_citizens_number_erases_it_from_the_sms_store_too(central: CentralService) -> None:
    record(central, "case.accepted", entry("JQ-2026-1123-0004"))
    texts_to(central, CITIZEN, 1, "the acceptance SMS")
    report = central.eraser.erase_phone(CITIZEN, actor="office")
    assert "case:JQ-2026-1123-0004" in report.subjects and report.sms["messages"] == 1
    assert central.citizens.sms is not None
    assert [m.phone for m in central.citizens.sms.messages()] == ["(erased)"]
