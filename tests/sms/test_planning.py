"""What is sent for which fact: the pure mapping from (event type, body) to notices, without I/O."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from central.sms.planning import Recipient, day_text, plan
from tests.sms.conftest import CITIZEN, accepted_body


def test_an_accepted_case_tells_the_citizen_its_number_matter_limit_and_due_day() -> None:
    [notice] = plan("case.accepted", accepted_body(), due_day="2026-12-21")
    assert notice.recipient is Recipient.CITIZEN
    assert notice.template == "case.accepted"
    assert notice.phone == CITIZEN
    assert notice.subject == "JQ-2026-1123-0001"
    assert dict(notice.values) == {
        "case_id": "JQ-2026-1123-0001", "matter": "食品经营许可", "limit": "20", "limit_unit": "个工作日",
        "accepted_day": "2026年11月23日", "due_day": "2026年12月21日",
    }


def test_an_accepted_case_without_a_known_due_day_uses_the_text_that_does_not_promise_one() -> None:
    [notice] = plan("case.accepted", accepted_body(limit=2, limit_unit="months"))
    assert notice.template == "case.accepted_no_due"
    assert "due_day" not in notice.values
    assert notice.values["limit_unit"] == "个月"


def test_suspension_names_the_legal_reason_in_chinese_and_resumption_the_day() -> None:
    [suspended] = plan("case.suspended", {"case_id": "JQ-1", "by": "o", "at": "2026-11-25T15:00:00",
                                          "reason": "expert_review"})
    [resumed] = plan("case.resumed", {"case_id": "JQ-1", "by": "o", "at": "2026-12-02T09:00:00"})
    assert (suspended.template, suspended.values["reason"], suspended.values["day"]) == \
        ("case.suspended", "专家评审", "2026年11月25日")
    assert (resumed.template, resumed.values["day"]) == ("case.resumed", "2026年12月2日")
    assert suspended.phone is None and suspended.subject == "JQ-1"  # the phone book finds the number


def test_completion_tells_the_citizen_to_pick_up_and_confirmation_says_nothing_more() -> None:
    [done] = plan("case.completed", {"case_id": "JQ-1", "by": "o", "at": "2026-12-10T16:30:00+08:00"})
    assert (done.recipient, done.template, done.values["day"]) == \
        (Recipient.CITIZEN, "case.completed", "2026年12月10日")
    confirmed = {"case_id": "JQ-1", "by": "o", "at": "2026-12-10T16:40:00"}
    assert plan("case.completion_confirmed", confirmed) == []


@pytest.mark.parametrize(("kind", "template"), [
    ("yellow_light", "case.reminder.yellow_light"),
    ("unconfirmed_completion", "case.reminder.unconfirmed_completion"),
])
def test_reminders_go_to_the_first_responsible_officer(kind: str, template: str) -> None:
    [notice] = plan("case.reminder", {"case_id": "JQ-1", "kind": kind, "due_at": "2026-12-20T00:00:00+08:00",
                                      "due_day": "2026-12-21", "unit": "市场监管局", "officer_name": "李四"})
    assert (notice.recipient, notice.template, notice.subject) == (Recipient.OFFICER, template, "JQ-1")
    assert notice.values["officer_name"] == "李四" and notice.values["due_day"] == "2026年12月21日"


def test_complaints_bookings_and_bad_ratings_each_have_their_text_and_recipient() -> None:
    [received] = plan("complaint.received", {"complaint": "TS-20261123-003", "phone": CITIZEN,
                                             "due_day": "2026-12-07", "summary": "窗口人员态度差"})
    [answered] = plan("complaint.answered", {"complaint": "TS-20261123-003", "phone": CITIZEN})
    booking = {"code": "482913", "phone": CITIZEN, "matter": "老年人优待证", "day": "2026-11-25",
               "time": "09:30", "hall_name": "市政务服务中心"}
    [booked] = plan("booking.confirmed", booking)
    [cancelled] = plan("booking.cancelled", {**booking, "reason": "窗口临时关闭。"})
    [followup] = plan("rating.followup_opened", {"rating": "rt-0001-abcdef", "unit": "民政局",
                                                 "window": "w05", "grade": "very_dissatisfied",
                                                 "due_day": "2026-12-14"})
    assert [n.template for n in (received, answered, booked, cancelled, followup)] == [
        "complaint.received", "complaint.answered", "booking.confirmed", "booking.cancelled",
        "rating.followup"]
    assert received.values["due_day"] == "2026年12月7日" and received.phone == CITIZEN
    assert booked.values["time"] == "09:30" and cancelled.values["reason"] == "窗口临时关闭。"
    assert (followup.recipient, followup.subject) == (Recipient.UNIT, "民政局")
    assert followup.values["grade"] == "非常不满意"


def test_facts_that_concern_no_one_outside_send_nothing() -> None:
    assert plan("queue.ticket_issued", {"ticket": "A001"}) == []
    assert plan("case.escalated", {"case_id": "JQ-1"}) == []


def test_a_malformed_fact_is_refused_not_guessed() -> None:
    with pytest.raises(ValidationError):
        plan("case.accepted", accepted_body(contact_phone="call me"))


def test_days_are_written_the_chinese_way() -> None:
    assert day_text("2026-01-05") == "2026年1月5日"
