"""The article's figures per unit and period, and the demo's dozen cases in every light."""

from __future__ import annotations

from central.cases.demo import CASES, seed_demo_cases
from central.cases.engine import Engine
from central.cases.timebase import parse_instant as at
from tests.cases.conftest import SettableClock, entry


def test_figures_per_unit_count_received_completed_on_time_and_cards(
    engine: Engine, clock: SettableClock
) -> None:
    store = engine.store
    store.submit(entry("A-0001"))  # due Mon 11-30, completed on time below
    store.submit(entry("A-0002"))  # completed late below
    store.submit(entry("A-0003"))  # left open: cards
    store.submit(entry("B-0001", unit="民政局"))
    clock.set("2026-11-30T16:00")
    store.complete({"case_id": "A-0001", "by": "李四", "at": "2026-11-30T15:00"})
    store.confirm({"case_id": "A-0001", "by": "李四", "at": "2026-11-30T15:30"})
    clock.set("2026-12-01T10:00")
    store.complete({"case_id": "A-0002", "by": "李四", "at": "2026-12-01T09:00"})
    store.confirm({"case_id": "A-0002", "by": "李四", "at": "2026-12-01T09:30"})
    engine.tick(at("2026-12-02T10:00"))
    figures = {f.group: f for f in store.statistics(by="unit")}
    ours = figures["自然资源局"]
    assert (ours.received, ours.completed, ours.on_time, ours.on_time_rate) == (3, 2, 1, 0.5)
    # Yellow cards at 12-01 00:00: A-0002 (still open then) and A-0003; a red card
    # at 12-02 00:00: A-0003 only. A-0001 never went overdue.
    assert (ours.yellow_cards, ours.red_cards, ours.supervision_letters) == (2, 1, 0)
    assert figures["民政局"].received == 1
    december = store.statistics(since=at("2026-12-01"), until=at("2027-01-01"))[0]
    assert (december.received, december.completed) == (0, 1)


def test_figures_per_window_and_per_shanghai_day_and_month_are_the_same_on_both_databases(
    engine: Engine, clock: SettableClock
) -> None:
    store = engine.store
    store.submit(entry("W-0001", window="3"))
    store.submit(entry("W-0002", window="5", accepted_at="2026-11-30T23:30",
                       applied_at="2026-11-30T23:00"))  # 23:30 in Shanghai: still November
    store.submit(entry("W-0003", window="5", hall="hall-east"))
    clock.set("2026-12-01T10:00")
    engine.tick(at("2026-12-01T10:00"))
    windows = {f.group: f.received for f in store.statistics(by="window")}
    assert windows == {"hall-centre/3": 1, "hall-centre/5": 1, "hall-east/5": 1}
    # Two yellow cards fell due at 12-01 00:00 in Shanghai (11-30 16:00 UTC): December's.
    months = {f.group: (f.received, f.yellow_cards) for f in store.statistics(by="month")}
    assert months == {"2026-11": (3, 0), "2026-12": (0, 2)}
    days = {f.group: (f.received, f.yellow_cards) for f in store.statistics(by="day")}
    assert days == {"2026-11-23": (2, 0), "2026-11-30": (1, 0), "2026-12-01": (0, 2)}


def test_demo_cases_show_every_light(engine: Engine) -> None:
    now = at("2026-11-26T10:00")
    ids = seed_demo_cases(engine.store, now)
    engine.tick(now)
    shown = [engine.store.case(case_id, now=now).stage.value for case_id in ids]
    assert shown == [case.intended for case in CASES]
    assert {"blue", "yellow_light", "red_light", "yellow_card", "red_card",
            "supervision_letter", "suspended", "completed"} <= set(shown)
    assert engine.store.verify().ok


def test_seeding_the_demo_twice_adds_nothing(engine: Engine) -> None:
    now = at("2026-11-26T10:00")
    seed_demo_cases(engine.store, now)
    head = engine.store.head()
    seed_demo_cases(engine.store, now)
    assert engine.store.head() == head
