"""The public site over HTTP, without a login: the guide, the progress query and its limits, the
figures, booking and cancelling with plain forms; nothing personal and nothing from outside."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from central.service import CentralService
from spine.broker.runner import MosquittoBroker
from spine.clock import SimulatedClock
from spine.storeurl import StoreUrl
from tests.central.conftest import stored_rows
from tests.citizens.conftest import CITIZEN, OFFICER_PHONE, entry, record, running, texts_to

OUTSIDE = re.compile(r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//""", re.I)


@pytest.fixture
def web(central: CentralService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=central.base_url, timeout=20) as http:
        yield http


def page(http: httpx.Client, path: str, **form: str) -> str:
    answer = http.post(path, data=form) if form else http.get(path)
    assert answer.headers["content-type"].startswith("text/html")
    assert not OUTSIDE.search(answer.text), "a page must load nothing from outside"
    return answer.text


def test_the_home_page_and_the_guide_need_no_login_and_are_chinese_and_self_contained(
        web: httpx.Client) -> None:
    home = page(web, "/public/")
    assert '<html lang="zh-CN">' in home and 'name="viewport"' in home
    assert all(word in home for word in ("办事指南", "办件查询", "网上预约", "公开数据"))
    css = web.get("/public/static/public.css")
    assert css.status_code == 200 and "font-size: 18px" in css.text

    index = page(web, "/public/guide")
    assert "<h2>民政局</h2>" in index and "食品经营许可" in index
    found = page(web, "/public/guide?q=优待证")
    assert "老年人优待证" in found and "食品经营许可" not in found
    assert "没有找到" in page(web, "/public/guide?q=不存在的事项")

    matter = page(web, "/public/guide/scjg-spjy")
    for shown in ("法定时限", "20个工作日", "承诺时限", "10个工作日", "不收费", "营业执照复印件",
                  "市政务服务中心", "1号窗口", "周一至周五", "网上预约"):
        assert shown in matter, shown
    assert web.get("/public/guide/nothing-here").status_code == 404


def test_the_progress_query_shows_the_stage_in_plain_words_to_whoever_has_the_phones_last_digits(
        central: CentralService, web: httpx.Client) -> None:
    record(central, "case.accepted", entry("JQ-2026-1123-0101"))
    shown = page(web, "/public/progress", case_id="JQ-2026-1123-0101", tail="5678")
    assert 'data-stage="已受理"' in shown
    for fact in ("食品经营许可", "市场监管局", "市政务服务中心", "2026年11月23日", "20个工作日",
                 "2026年12月21日前"):
        assert fact in shown, fact
    for secret in (CITIZEN, "5678", OFFICER_PHONE, "李四", "张三", "张*"):
        assert secret not in shown, secret

    case = {"case_id": "JQ-2026-1123-0101", "by": "officer-07"}
    record(central, "case.suspended", {**case, "at": "2026-11-23T10:03", "reason": "expert_review"})
    paused = page(web, "/public/progress", case_id="JQ-2026-1123-0101", tail="5678")
    assert 'data-stage="暂停计时"' in paused and "暂停计时（专家评审）" in paused
    record(central, "case.resumed", {**case, "at": "2026-11-23T10:04"})
    record(central, "case.completed", {**case, "at": "2026-11-23T10:05"})
    done = page(web, "/public/progress", case_id="ＪＱ-2026-1123-0101", tail="５６７８")  # full width
    assert 'data-stage="已办结"' in done and "恢复办理" in done and "预计办结" not in done

    wrong_tail = page(web, "/public/progress", case_id="JQ-2026-1123-0101", tail="1234")
    unknown = page(web, "/public/progress", case_id="JQ-NO-SUCH-CASE", tail="5678")
    assert "未查询到该办件" in wrong_tail and "未查询到该办件" in unknown  # nothing tells them apart
    assert "食品经营许可" not in wrong_tail


def test_trying_digits_against_one_case_number_is_stopped_and_every_attempt_is_logged_masked(
        central: CentralService, web: httpx.Client) -> None:
    record(central, "case.accepted", entry("JQ-2026-1123-0102"))
    for tail in range(8):
        page(web, "/public/progress", case_id="JQ-2026-1123-0102", tail=f"{tail:04d}")
    refused = web.post("/public/progress", data={"case_id": "JQ-2026-1123-0102", "tail": "5678"})
    assert refused.status_code == 429 and "查询过于频繁" in refused.text
    assert "食品经营许可" not in refused.text
    attempts = central.citizens.attempts.recent("progress")
    assert len(attempts) == 9 and {a["client"] for a in attempts} == {"127.0.0.*"}
    assert {a["subject"] for a in attempts} == {"JQ-2026-1123-0102"}
    assert attempts[0]["outcome"] == "refused: too many"
    # The address only masked (and as a keyed digest, not shown here); what was typed never.
    rows = stored_rows(central.store, "SELECT at, kind, client, subject, outcome FROM public_attempts")
    assert "127.0.0.1" not in str(rows) and "5678" not in str(rows)


def test_one_address_is_stopped_after_its_hourly_share_of_queries(
        tmp_path: Path, broker: MosquittoBroker, clock: SimulatedClock,
        central_database: StoreUrl | None) -> None:
    central = running(tmp_path, broker, clock, central_database, public={"progress_per_client_per_hour": 3})
    try:
        with httpx.Client(base_url=central.base_url, timeout=20) as web:
            def query(case_id: str) -> int:
                return web.post("/public/progress", data={"case_id": case_id, "tail": "1111"}).status_code

            assert [query(f"JQ-X-{n}") for n in range(3)] == [200, 200, 200]
            assert query("JQ-X-9") == 429
            clock.advance(3_600_001)
            assert query("JQ-X-9") == 200
    finally:
        central.stop()


def test_the_figures_page_shows_each_department_for_the_chosen_month(
        central: CentralService, web: httpx.Client) -> None:
    record(central, "case.accepted", entry("JQ-2026-1123-0103"))
    record(central, "case.accepted", entry("JQ-2026-1123-0104", unit="民政局", matter="老年人优待证"))
    figures = page(web, "/public/figures")
    assert '<option value="2026-11" selected>2026年11月</option>' in figures
    row = re.search(r'<tr data-unit="市场监管局">(.*?)</tr>', figures)
    assert row is not None and '<td data-figure="received">1</td>' in row.group(1)
    assert "本月暂无数据" in page(web, "/public/figures?month=2026-10")


def test_a_citizen_books_with_plain_forms_gets_the_code_by_page_and_sms_and_cancels_with_it(
        central: CentralService, web: httpx.Client) -> None:
    departments = page(web, "/public/booking")
    assert "市场监管局" in departments and "民政局" in departments and "人社局" not in departments
    assert "食品经营许可" in page(web, "/public/booking?department=市场监管局")
    officers = page(web, "/public/booking/scjg-spjy")
    assert "市政务服务中心 · 1号窗口 · 王小明" in officers
    slots = page(web, "/public/booking/scjg-spjy/hall-01/101")
    assert 'value="11:00"' in slots and 'value="10:30"' not in slots and "11月23日 周一" in slots

    refused = page(web, "/public/booking/scjg-spjy/hall-01/101", day="2026-11-23", slot="11:00", phone="123")
    assert "请填写11位手机号码" in refused and 'value="11:00"' in refused
    booked = page(web, "/public/booking/scjg-spjy/hall-01/101", day="2026-11-23", slot="11:00",
                  phone=CITIZEN)
    code = re.search(r'data-code="(\d{6})"', booked)
    assert code is not None and "预约成功" in booked and CITIZEN not in booked
    [text] = texts_to(central, CITIZEN, 1, "the booking's SMS")
    assert f"预约码{code.group(1)}" in text

    assert "不正确" in page(web, "/public/booking/cancel", code=code.group(1), tail="0000")
    cancelled = page(web, "/public/booking/cancel", code=code.group(1), tail="5678")
    assert "已取消" in cancelled
    texts_to(central, CITIZEN, 2, "the cancellation's SMS")


def test_booking_forms_from_one_address_are_limited(
        tmp_path: Path, broker: MosquittoBroker, clock: SimulatedClock,
        central_database: StoreUrl | None) -> None:
    central = running(tmp_path, broker, clock, central_database, public={"forms_per_client_per_hour": 2})
    try:
        with httpx.Client(base_url=central.base_url, timeout=20) as web:
            for _ in range(2):
                web.post("/public/booking/cancel", data={"code": "123456", "tail": "0000"})
            busy = web.post("/public/booking/scjg-spjy/hall-01/101",
                            data={"day": "2026-11-23", "slot": "11:00", "phone": CITIZEN})
            assert busy.status_code == 429 and "提交过于频繁" in busy.text
            assert central.citizens.bookings.on_list("hall-01", "2026-11-23") == []
    finally:
        central.stop()
