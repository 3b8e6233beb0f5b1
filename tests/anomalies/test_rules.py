"""Each starter rule: a history that hits it, and one that must not (tests/anomalies/rig.py)."""

from __future__ import annotations

from typing import Any

from tests.anomalies.rig import HALL, Rig, ms


def hit_keys(rig: Rig, rule: str) -> list[str]:
    return [a["case_id"] or a["subject"] for a in rig.hits(rule)]


# --- cases -------------------------------------------------------------------------------------


def test_a_case_accepted_on_a_sunday_or_at_night_is_an_anomaly_and_one_in_office_hours_is_not(
        rig: Rig) -> None:
    rig.case("JQ-0001", accepted_at="2026-11-23T10:00", applied_at="2026-11-23T09:30")
    rig.case("JQ-0002", accepted_at="2026-11-22T10:00", applied_at="2026-11-22T09:30")  # a Sunday
    rig.case("JQ-0003", accepted_at="2026-11-20T21:40", applied_at="2026-11-20T21:00")  # a Friday night
    rig.tick()
    found = {a["case_id"]: a for a in rig.hits("accepted_off_hours")}
    assert set(found) == {"JQ-0002", "JQ-0003"}
    assert "non-working day (Sun 2026-11-22 10:00)" in found["JQ-0002"]["summary"]
    assert "21:40" in found["JQ-0003"]["summary"] and "08:30–18:00" in found["JQ-0003"]["summary"]
    assert found["JQ-0002"]["risk"] == "medium" and found["JQ-0002"]["unit"] == "自然资源局"


def suspend_and_resume(rig: Rig, case: str, start: str, end: str, reason: str = "testing") -> None:
    rig.fact("case.suspended", case, start, reason=reason)
    rig.fact("case.resumed", case, end)


def test_a_case_suspended_three_times_is_an_anomaly_and_twice_is_not(rig: Rig) -> None:
    rig.case("JQ-0001")
    rig.case("JQ-0002")
    rig.at("2026-11-23T18:00")
    for case in ("JQ-0001", "JQ-0002"):
        suspend_and_resume(rig, case, "2026-11-23T11:00", "2026-11-23T12:00", "testing")
        suspend_and_resume(rig, case, "2026-11-23T13:00", "2026-11-23T14:00", "inspection")
    suspend_and_resume(rig, "JQ-0001", "2026-11-23T15:00", "2026-11-23T16:00", "hearing")
    rig.tick()
    [anomaly] = rig.hits("repeated_suspensions")
    assert anomaly["case_id"] == "JQ-0001"
    assert "suspended 3 times (testing, inspection, hearing)" in anomaly["summary"]


def test_a_suspension_the_evening_before_the_yellow_light_is_an_anomaly_and_an_early_one_is_not(
        rig: Rig) -> None:
    # Five working days from Mon 11-23: due Mon 11-30, the yellow light from 00:00 Fri 11-27.
    rig.case("JQ-0001")
    rig.case("JQ-0002")
    rig.at("2026-11-26T21:00")
    rig.fact("case.suspended", "JQ-0001", "2026-11-26T20:00", reason="expert_review")
    rig.fact("case.suspended", "JQ-0002", "2026-11-24T10:00", reason="expert_review")
    rig.tick()
    [anomaly] = rig.hits("suspension_near_deadline")
    assert anomaly["case_id"] == "JQ-0001" and anomaly["risk"] == "high"
    assert "4 h before its yellow light (2026-11-27T00:00:00+08:00)" in anomaly["summary"]


def test_a_suspension_once_the_light_is_on_is_an_anomaly_too(rig: Rig) -> None:
    rig.case("JQ-0001")
    rig.at("2026-11-27T15:00")
    rig.fact("case.suspended", "JQ-0001", "2026-11-27T14:00", reason="testing")
    rig.tick()
    [anomaly] = rig.hits("suspension_near_deadline")
    assert "after its light turned yellow_light" in anomaly["summary"]


def test_completion_confirmed_by_the_officer_who_completed_it_is_an_anomaly(rig: Rig) -> None:
    for case in ("JQ-0001", "JQ-0002", "JQ-0003"):
        rig.case(case)
    rig.at("2026-11-24T12:00")
    for case in ("JQ-0001", "JQ-0002", "JQ-0003"):
        rig.fact("case.completed", case, "2026-11-24T10:00", by="李四")
    rig.fact("case.completion_confirmed", "JQ-0001", "2026-11-24T11:00", by="李四")
    rig.fact("case.completion_confirmed", "JQ-0002", "2026-11-24T11:00", by="王科长")
    # An approval system's token names its user first: the person is the same.
    rig.fact("case.completion_confirmed", "JQ-0003", "2026-11-24T11:00", by="approval-zr/李四")
    rig.tick()
    assert sorted(hit_keys(rig, "self_confirmed")) == ["JQ-0001", "JQ-0003"]


def test_the_same_officer_and_applicant_four_times_within_ninety_days_is_an_anomaly(rig: Rig) -> None:
    rig.at("2026-11-27T17:00")
    for n, day in enumerate(("23", "24", "25", "26"), start=1):
        rig.case(f"JQ-00{n:02d}", contact_phone="13811112222", accepted_at=f"2026-11-{day}T10:00",
                 applied_at=f"2026-11-{day}T09:00")
    for n, day in enumerate(("23", "24", "25", "26"), start=1):  # another applicant each time
        rig.case(f"JQ-01{n:02d}", contact_phone=f"1391111{n:04d}", accepted_at=f"2026-11-{day}T11:00",
                 applied_at=f"2026-11-{day}T09:00")
    for n, day in enumerate(("23", "24", "25"), start=1):  # the same applicant, another officer, thrice
        rig.case(f"JQ-02{n:02d}", contact_phone="13733334444", officer_id="off-99",
                 accepted_at=f"2026-11-{day}T11:30", applied_at=f"2026-11-{day}T09:00")
    rig.tick()
    [anomaly] = rig.hits("officer_applicant_pairs")
    assert "accepted 4 cases of the same applicant within 90 days (JQ-0001, JQ-0002, JQ-0003, JQ-0004)" in (
        anomaly["summary"])
    history = rig.book.history(anomaly["id"])
    assert "13811112222" not in str(history) and "2222" not in anomaly["summary"]


def test_a_correction_that_moves_the_due_day_after_the_light_came_on_is_an_anomaly(rig: Rig) -> None:
    early = rig.case("JQ-0001")
    late = rig.case("JQ-0002")
    rig.at("2026-11-23T15:00")  # still blue: a wrong limit corrected early
    rig.cases.correct({"case_id": "JQ-0001", "by": "李四", "corrects": early, "changes": {"limit": 7},
                       "reason": "期限录入有误"})
    rig.at("2026-11-27T09:00")  # the yellow light is on
    rig.cases.correct({"case_id": "JQ-0002", "by": "李四", "corrects": late, "changes": {"limit": 10},
                       "reason": "期限录入有误"})
    rig.tick()
    [anomaly] = rig.hits("deadline_moved")
    assert anomaly["case_id"] == "JQ-0002"
    assert "moved the due day from 2026-11-30 to 2026-12-07 while it showed yellow_light" in (
        anomaly["summary"])


def test_a_decision_outside_its_standard_is_an_anomaly_and_one_within_is_not(rig: Rig) -> None:
    rig.case("JQ-0001")
    rig.case("JQ-0002")
    rig.at("2026-11-23T16:00")
    rig.fact("case.decided", "JQ-0001", "2026-11-23T15:00", matter="违法建设罚款", circumstance="一般",
             amount=20000)
    rig.fact("case.decided", "JQ-0002", "2026-11-23T15:00", matter="违法建设罚款", circumstance="一般",
             amount=80000, reason="当事人拒不整改")
    rig.tick()
    [anomaly] = rig.hits("decision_out_of_range")
    assert anomaly["case_id"] == "JQ-0002" and anomaly["risk"] == "high"
    assert "80000 元, outside the standard (10000–50000 元)" in anomaly["summary"]


# --- the halls' events -------------------------------------------------------------------------


def rating(window: str, grade: str, at: int, n: int) -> tuple[str, dict[str, Any], int]:
    return ("rating.recorded", {"hall": HALL, "window": window, "officer": "off-3", "department": "民政局",
                                "how": "visit", "rating": f"rating-{window}-{n:04d}",
                                "terminal": f"rt-{window}", "grade": grade, "rated_at": at,
                                "source_event": f"ev-{n}"}, at)


def test_five_very_satisfied_ratings_in_two_minutes_at_one_window_are_a_burst(rig: Rig) -> None:
    start = ms("2026-11-23T10:00")
    rig.hall_events([rating("w03", "very_satisfied", start + i * 20_000, i) for i in range(5)])
    # w04: as many, but one of them only 满意: no burst; w05: one every ten minutes: visits, not a burst.
    grades = ["very_satisfied", "very_satisfied", "satisfied", "very_satisfied", "very_satisfied"]
    rig.hall_events([rating("w04", grade, start + i * 20_000, 10 + i) for i, grade in enumerate(grades)])
    rig.hall_events([rating("w05", "very_satisfied", start + i * 600_000, 20 + i) for i in range(5)])
    rig.at("2026-11-23T11:00")
    rig.hall_complete_until("2026-11-23T11:00")
    rig.tick()
    [anomaly] = rig.hits("rating_bursts")
    assert anomaly["subject"] == "off-3" and anomaly["unit"] == "民政局" and anomaly["hall"] == HALL
    assert "window w03 of hall-01: 5 ratings '非常满意' in a row within 80 s" in anomaly["summary"]


def call(kind: str, window: str, ticket: str, at: int, **more: Any) -> tuple[str, dict[str, Any], int]:
    body = {"day": "2026-11-23", "ticket": ticket, "service": "A", "window": window, "officer": "off-3",
            "at": at}
    return (kind, {**body, **more}, at)


def test_tickets_skipped_at_their_call_at_one_window_are_an_anomaly(rig: Rig) -> None:
    start = ms("2026-11-23T09:00")
    events = []
    for n in range(3):  # w03: three skipped seconds after the call, two called back from the parked list
        called = start + n * 600_000
        events.append(call("queue.no_show", "w03", f"A{n:03d}", called + 5_000, called_at=called))
    for n in range(2):
        at = start + 7_200_000 + n * 60_000
        events.append(call("queue.called", "w03", f"A9{n:02d}", at, issued_at=start, waiting_since=start,
                           wait_ms=0, call_back=True))
    for n in range(5):  # w04: five no-shows after a proper wait
        called = start + n * 600_000
        events.append(call("queue.no_show", "w04", f"B{n:03d}", called + 180_000, called_at=called))
    rig.hall_events(events)
    rig.at("2026-11-23T12:00")
    rig.hall_complete_until("2026-11-23T12:00")
    rig.tick()
    [anomaly] = rig.hits("queue_bending")
    assert anomaly["subject"] == "off-3"
    assert ("window w03 of hall-01 on 2026-11-23: 3 tickets skipped within 30 s of their call, "
            "2 called back") in anomaly["summary"]


def test_a_device_refused_by_its_gateway_is_an_anomaly_once_a_day(rig: Rig) -> None:
    at = ms("2026-11-23T10:00")
    refused = {"device": "kiosk-9", "kind": "kiosk", "type": "rating.given",
               "reason": "a kiosk may not state rating.given (only rating)", "refusals": 1}
    rig.hall_events([("security.refused", refused, at),
                     ("security.refused", {**refused, "refusals": 2}, at + 1000),
                     ("device.online", {"device": "kiosk-8", "boot": "boot-0001", "kind": "kiosk"}, at)])
    rig.at("2026-11-23T11:00")
    rig.hall_complete_until("2026-11-23T11:00")
    rig.tick()
    [anomaly] = rig.hits("device_refused")
    assert anomaly["subject"] == "kiosk-9" and anomaly["risk"] == "high"
    assert "device kiosk-9 (kiosk) of hall-01 stated rating.given, which it may not" in anomaly["summary"]


def gap(gap_id: int, start: str, end: str) -> tuple[str, dict[str, Any], int]:
    return ("recorder.gap", {"gap_id": gap_id, "camera": "cam-1", "start": ms(start), "end": ms(end),
                             "cause": "camera_offline"}, ms(end))


def test_a_camera_gap_during_a_complained_about_visit_is_an_anomaly_whichever_comes_first(rig: Rig) -> None:
    rig.hall_events([gap(1, "2026-11-23T09:10", "2026-11-23T09:20"),
                     gap(2, "2026-11-23T08:00", "2026-11-23T08:30")],
                    device="recorder-1", author={"kind": "recorder"})
    rig.hall_complete_until("2026-11-23T09:40")
    rig.at("2026-11-23T10:00")
    first = rig.complaint("w03", "2026-11-23T09:15")   # the gap was known before the complaint
    untouched = rig.complaint("w05", "2026-11-23T09:50")
    rig.tick()
    assert hit_keys(rig, "camera_gap_in_complaint") == ["w03"]
    later = rig.complaint("w04", "2026-11-23T10:30")  # the recorder reports this gap only later
    rig.at("2026-11-23T12:00")
    rig.hall_events([gap(3, "2026-11-23T10:29", "2026-11-23T10:45")], device="recorder-1",
                    author={"kind": "recorder"})
    rig.hall_complete_until("2026-11-23T12:00")
    rig.tick()
    found = {a["summary"].split(":")[0]: a for a in rig.hits("camera_gap_in_complaint")}
    assert set(found) == {f"complaint {first}", f"complaint {later}"}
    assert untouched not in str(found)
    assert "cam-1 of recorder-1" in found[f"complaint {later}"]["summary"]
