"""A dozen realistic cases in every stage, for the demo and the big screen.

Acceptance days are found by counting working days back from `now` with the
same calendar the engine uses, so each case shows its intended light
whatever the day the demo runs (within the calendar's years).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from central.cases.calendar import CalendarGap
from central.cases.store import CaseStore
from central.cases.timebase import (
    Day,
    Instant,
    date_from_day,
    day_from_date,
    day_of,
    format_instant,
    midnight,
)


@dataclass(frozen=True)
class DemoCase:
    number: int
    hall: str
    unit: str
    matter: str
    limit: int
    limit_unit: str
    accepted_back: int
    """Working days between acceptance and today (k at `now`)."""
    officer: str
    intended: str


CASES = (
    DemoCase(1, "hall-centre", "市场监管局", "食品经营许可", 20, "workdays", 5, "王芳", "blue"),
    DemoCase(2, "hall-centre", "自然资源局", "户外广告设置许可", 10, "workdays", 9, "李强",
             "yellow_light"),
    DemoCase(3, "hall-centre", "市场监管局", "营业执照设立登记", 3, "workdays", 3, "王芳",
             "red_light"),
    DemoCase(4, "hall-suzhou", "市场监管局", "营业执照设立登记", 3, "workdays", 4, "赵敏",
             "yellow_card"),
    DemoCase(5, "hall-suzhou", "自然资源局", "户外广告设置许可", 10, "workdays", 12, "孙磊",
             "red_card"),
    DemoCase(6, "hall-jinta", "交通运输局", "道路运输经营许可", 20, "workdays", 23, "周杰",
             "supervision_letter"),
    DemoCase(7, "hall-centre", "自然资源局", "建设工程规划许可", 20, "workdays", 8, "李强",
             "suspended"),
    DemoCase(8, "hall-jinta", "卫生健康委", "医师执业注册", 20, "workdays", 15, "吴霞",
             "completed"),
    DemoCase(9, "hall-suzhou", "市场监管局", "营业执照设立登记", 3, "workdays", 2, "赵敏",
             "yellow_light"),
    DemoCase(10, "hall-centre", "民政局", "老年人优待证", 2, "months", 6, "陈静", "blue"),
    DemoCase(11, "hall-jinta", "市场监管局", "食品经营许可", 20, "workdays", 25, "周杰",
             "yellow_light"),
    DemoCase(12, "hall-centre", "民政局", "收养登记", 2, "months", 4, "陈静", "blue"),
)


def _working_day_back(store: CaseStore, today: Day, n: int) -> Day:
    return store.calendar.nth_before(today, n)


def seed_demo_cases(store: CaseStore, now: Instant) -> list[str]:
    """Enter the demo cases (idempotent for the same `now` day) and return their ids.

    Call `Engine(store).tick(now)` afterwards to issue the escalations they have earned.
    """
    today = day_of(now)
    if not store.calendar.covers(today):
        # Past the calendar's last year: anchor on its last day; lights will read uncertain.
        last = max(store.calendar.years)
        today = day_from_date(date_from_day(today).replace(year=last, month=12, day=31))
    stamp = date_from_day(today).strftime("%Y%m%d")
    ids = []
    for case in CASES:
        case_id = f"DEMO-{stamp}-{case.number:02d}"
        ids.append(case_id)
        try:
            _seed_one(store, case, case_id, today, now)
        except CalendarGap:
            continue
    return ids


def _at(day: Day, hour: int, minute: int = 0) -> Instant:
    return midnight(day) + hour * 3600 + minute * 60


def _seed_one(store: CaseStore, case: DemoCase, case_id: str, today: Day, now: Instant) -> None:
    accepted_day = _working_day_back(store, today, case.accepted_back)
    accepted = min(_at(accepted_day, 9, 30), now - 600)
    entry = {
        "case_id": case_id, "by": f"window-{case.number}", "hall": case.hall, "unit": case.unit,
        "window": str(case.number), "matter": case.matter, "project_category": "行政许可",
        "project_attribute": "承诺件" if case.limit_unit == "months" else "即办件",
        "contact_name": "申请人" + "甲乙丙丁戊己庚辛壬癸子丑"[case.number - 1],
        "contact_phone": f"1380000{case.number:04d}", "officer_name": case.officer,
        "officer_id": f"officer-{case.officer}", "officer_phone": f"1390000{case.number:04d}",
        "applied_at": format_instant(accepted - 1800), "accepted_at": format_instant(accepted),
        "limit": case.limit, "limit_unit": case.limit_unit,
    }
    if case.number == 12:
        _seed_corrected(store, entry, accepted)
        return
    result = store.submit(entry, now=accepted + 300)
    if result.duplicate:
        return
    fact = {"case_id": case_id, "by": case.officer}
    if case.intended == "suspended":
        at = _at(_working_day_back(store, today, 3), 14)
        store.suspend({**fact, "at": format_instant(at), "reason": "expert_review",
                       "note": "专家评审"}, now=at + 60)
    elif case.intended == "completed":
        done = _at(_working_day_back(store, today, 12), 16)
        store.complete({**fact, "at": format_instant(done)}, now=done + 60)
        store.confirm({**fact, "at": format_instant(done + 600)}, now=done + 660)
    elif case.number == 9:
        done = max(accepted + 3600, now - 3600)
        store.complete({**fact, "at": format_instant(done)}, now=done + 60)
    elif case.number == 11:
        start = _at(_working_day_back(store, today, 20), 15)
        end = _at(_working_day_back(store, today, 14), 10)
        store.suspend({**fact, "at": format_instant(start), "reason": "testing",
                       "note": "产品检测"}, now=start + 60)
        store.resume({**fact, "at": format_instant(end)}, now=end + 60)


def _seed_corrected(store: CaseStore, entry: Mapping[str, object], accepted: Instant) -> None:
    """The trial's classic false alarm: a wrong acceptance date, then its correction."""
    wrong = accepted - 70 * 86400
    first = store.submit(
        {**entry, "applied_at": format_instant(wrong - 1800),
         "accepted_at": format_instant(wrong)},
        now=accepted + 300,
    )
    if first.duplicate or first.seq is None:
        return
    store.correct(
        {"case_id": entry["case_id"], "by": "supervisor-demo", "corrects": first.seq,
         "changes": {"applied_at": entry["applied_at"], "accepted_at": entry["accepted_at"]},
         "reason": "受理日期录入错误（月份）"},
        now=accepted + 1800,
    )
