"""The demo's story lines and its seeded day: what a newcomer reads in the terminal, and the day
the big screen opens on (issue #18, "The demo")."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from central.demo import start_demo_central
from edge.queue_kiosk.demo import DEMO_SERVICES
from hallwatch.demo import GATEWAY, HALL, KIOSK_SLOTS, OFFICERS, start_gateway_with_its_morning
from hallwatch.demo_history import HALL_ZONE, Officer, day_span, events_of, plan_day
from hallwatch.demo_story import happened_ms, happening_line, line
from spine.broker.runner import MosquittoBroker
from tests.support import wait_until

MORNING = int(datetime(2026, 12, 2, 14, 0, tzinfo=HALL_ZONE).timestamp() * 1000)
OFFICERS_AT = {w: Officer(f"10{w}", **OFFICERS[f"10{w}"]) for w in ("1", "2", "3")}


def names(officer: str | None) -> str:
    return str(OFFICERS.get(officer or "", {}).get("name", "nobody"))


def test_each_meaningful_hall_event_is_one_readable_line() -> None:
    visit = {"day": "2026-12-02", "ticket": "A007", "service": "A", "window": "2", "officer": "102"}
    assert line("queue.ticket_issued", {**visit, "service_name": "社保医保", "people_ahead": 3}, names) == (
        "ticket   A007 社保医保: 3 waiting before it")
    assert line("queue.ticket_issued", {**visit, "service_name": "社保医保", "people_ahead": 0}, names) == (
        "ticket   A007 社保医保: nobody waiting before it")
    assert line("queue.called", {**visit, "wait_ms": 95_000}, names) == (
        "called   A007 to window 2 (王芳), after 95 s in the queue")
    assert line("queue.served", {**visit, "service_ms": 41_400}, names) == (
        "served   A007 at window 2 (王芳) in 41 s")
    assert line("rating.recorded", {"window": "2", "visit": {"ticket": "A007"}, "grade": "satisfied"},
                names) == "rated    A007 at window 2: satisfied (满意)"
    assert line("rating.recorded", {"window": "2", "visit": {"ticket": "A007"}, "grade": None},
                names) == "rated    A007 at window 2: not rated"
    assert line("queue.no_show", visit, names) == "no-show  A007 did not come to window 2"
    assert line("recorder.hold", {"camera": "cam-1", "state": "active", "why": "complaint TS1"},
                names) == "footage  cam-1 held for complaint TS1"
    assert line("recorder.hold", {"camera": "cam-1", "state": "released"}, names) is None
    assert happening_line("escalation", {"case_id": "DEMO-0303", "stage": "red_light", "unit": "民政局",
                                         "hall": HALL}) == (
        "light    case DEMO-0303 (民政局, hall-01) is now red light (红灯)")


def test_an_event_is_dated_by_when_it_happened_not_when_central_stored_it() -> None:
    assert happened_ms("queue.called", {"at": 5, "issued_at": 1}, 99) == 5
    assert happened_ms("queue.ticket_issued", {"issued_at": 1}, 99) == 1
    assert happened_ms("rating.recorded", {"rated_at": 7}, 99) == 7
    assert happened_ms("device.online", {}, 99) == 99


def test_the_day_so_far_is_a_believable_morning_that_ends_before_now() -> None:
    visits = plan_day(MORNING, DEMO_SERVICES, OFFICERS_AT, slot=KIOSK_SLOTS, slots=KIOSK_SLOTS)
    start, end = day_span(MORNING)
    assert datetime.fromtimestamp(start / 1000, HALL_ZONE).strftime("%H:%M") == "08:30"
    assert 60 <= len(visits) <= 200, len(visits)  # a citizen every few minutes since 08:30
    assert all(start <= v.issued < v.called < v.ended <= end for v in visits)
    # Numbered in the morning's own kiosk slot: no live kiosk (slots 1, 2) ever takes the number.
    assert all(int(v.ticket[1:]) % KIOSK_SLOTS == KIOSK_SLOTS % KIOSK_SLOTS for v in visits)
    assert len({v.ticket for v in visits}) == len(visits)
    for window in OFFICERS_AT:  # one citizen at a time at each window
        spells = sorted((v.called, v.ended) for v in visits if v.window == window)
        assert all(a[1] <= b[0] for a, b in zip(spells, spells[1:], strict=False)), window
    served = [v for v in visits if v.served]
    assert 0.85 <= len(served) / len(visits) < 1
    assert any(v.grade in ("dissatisfied", "very_dissatisfied") for v in served)  # a follow-up opens
    kinds = [kind for v in visits[:1] for kind, _ in events_of(v, HALL)]
    assert kinds[:2] == ["queue.called", "queue.served" if visits[0].served else "queue.no_show"]


def test_an_early_morning_demo_replays_what_there_was_of_the_day() -> None:
    dawn = int(datetime(2026, 12, 2, 2, 0, tzinfo=HALL_ZONE).timestamp() * 1000)
    start, end = day_span(dawn)
    assert datetime.fromtimestamp(start / 1000, HALL_ZONE).strftime("%Y-%m-%d %H:%M") == "2026-12-02 00:01"
    assert end < dawn


def test_central_opens_on_the_hall_s_morning(tmp_path: Path, broker: MosquittoBroker) -> None:
    if not plan_day(int(time.time() * 1000), DEMO_SERVICES, OFFICERS_AT, slot=KIOSK_SLOTS,
                    slots=KIOSK_SLOTS):
        pytest.skip("the hall's day has barely begun (just past midnight in Shanghai): nothing to replay")
    central, url = start_demo_central(tmp_path, broker.port, 0, [(HALL, GATEWAY)])
    gateway = start_gateway_with_its_morning(tmp_path, broker.port)
    try:
        token = url.split("token=")[1]
        with httpx.Client(base_url=central.base_url, headers={"Authorization": f"Bearer {token}"}) as api:
            def today() -> dict[str, dict[str, int]]:
                return api.get(f"/api/halls/{HALL}").json()

            wait_until(lambda: (today()["queue_today"] or {}).get("served", 0) > 0, 30,
                       "the morning's visits at central")
            wait_until(lambda: gateway.outbox.depth()[0] == 0, 30, "the whole morning forwarded")
            hall = today()
    finally:
        gateway.stop()
        central.stop()
    queue, ratings = hall["queue_today"], hall["ratings_today"]
    assert queue["issued"] >= queue["served"] > 0 and queue["waiting"] == 0
    assert queue["avg_wait_s"] and queue["avg_service_s"] and queue["avg_service_s"] >= 240
    assert ratings["rated"] > 0 and 0.5 <= ratings["satisfaction_rate"] <= 1
