"""The performance ranking rule, on figures written by hand."""

from __future__ import annotations

from pathlib import Path

import httpx

from central.cases.demo import seed_demo_cases
from central.cases.engine import Engine
from central.cases.timebase import parse_instant
from central.performance import evaluate, score
from central.service import CentralService
from central.web.api_performance import shown_name
from tests.central.conftest import VIEWER_TOKEN, client


def test_the_score_weighs_on_time_satisfaction_and_rectification() -> None:
    assert score(1.0, 1.0, 1.0, 0, 0, 0) == 100.0
    assert score(0.8, 0.9, 0.5, 0, 0, 0) == 100 * (0.5 * 0.8 + 0.3 * 0.9 + 0.2 * 0.5)
    # Missing parts are left out and the rest reweighted, not counted as zero.
    assert score(0.8, None, None, 0, 0, 0) == 80.0


def test_cards_and_letters_cost_points_and_the_score_never_goes_negative() -> None:
    assert score(1.0, None, None, 1, 1, 1) == 100 - 2 - 5 - 10
    assert score(0.1, None, None, 0, 0, 5) == 0.0


def test_units_are_ranked_by_score_then_by_fewer_cards() -> None:
    cases = {
        "民政局": {"completed": 10, "on_time": 10},
        "人社局": {"completed": 10, "on_time": 9, "yellow_cards": 1},
        "住建局": {"completed": 10, "on_time": 10, "red_cards": 1},
    }
    ratings = {"民政局": {"ratings": 20, "satisfied": 19, "bad": 1, "bad_rectified": 1}}
    ranked = evaluate(cases, ratings)
    assert [e.key for e in ranked] == ["民政局", "住建局", "人社局"]
    assert [e.rank for e in ranked] == [1, 2, 3]
    assert ranked[0].satisfaction == 0.95 and ranked[0].bad_rectified == 1


def test_the_performance_table_ranks_the_seeded_units(viewer: httpx.Client) -> None:
    rows = viewer.get("/api/performance", params={"by": "unit"}).json()
    ranks = [r["rank"] for r in rows]
    scored = [rank for rank in ranks if rank is not None]
    assert ranks == scored + [None] * (len(ranks) - len(scored))  # the unscored come last
    assert scored == list(range(1, len(scored) + 1))
    by_unit = {r["key"]: r for r in rows}
    # 人社局 holds a red card among the seeded cases and has nothing completed or rated: no score,
    # below 民政局, which holds no card and completed one on time.
    assert by_unit["人社局"]["red_cards"] == 1
    assert by_unit["民政局"]["score"] is not None and by_unit["人社局"]["score"] is None
    assert rows.index(by_unit["民政局"]) < rows.index(by_unit["人社局"])


def test_nothing_to_judge_gives_no_score_and_no_rank_never_a_perfect_hundred() -> None:
    # 李强: two open cases, nothing completed, no ratings (the newcomer's finding P1).
    cases = {"王芳": {"completed": 4, "on_time": 3}, "李强": {"completed": 0, "on_time": 0}}
    ranked = evaluate(cases, {})
    assert [(e.key, e.rank, e.score) for e in ranked] == [("王芳", 1, 75.0), ("李强", None, None)]
    assert score(None, None, None, 0, 0, 0) is None


def test_cards_a_correction_disowned_still_cost_points_and_say_so() -> None:
    cases = {"民政局": {"completed": 2, "on_time": 2, "yellow_cards": 1, "red_cards": 1, "letters": 1,
                     "false_alarms": {"yellow_cards": 1, "red_cards": 1, "letters": 1}}}
    (civil,) = evaluate(cases, {})
    assert civil.score == 100 - 17
    assert (civil.false_alarms, civil.false_alarm_points) == (3, 17)


def test_the_demo_s_corrected_case_shows_its_cards_as_false_alarms(tmp_path: Path) -> None:
    """收养登记 was entered with a wrong acceptance date, escalated, then corrected."""
    engine = Engine.open(tmp_path / "cases.sqlite")
    now = parse_instant("2026-11-23T10:05")
    try:
        seed_demo_cases(engine.store, now)
        engine.tick(now)
        rows = {f.group: f.as_row() for f in engine.store.statistics(by="matter")}
    finally:
        engine.close()
    adoption = rows["收养登记"]
    assert (adoption["yellow_cards"], adoption["red_cards"], adoption["letters"]) == (1, 1, 1)
    assert adoption["false_alarms"] == {"yellow_cards": 1, "red_cards": 1, "letters": 1}
    # A case whose cards the record still bears out has none.
    assert all(row["false_alarms"] == {"yellow_cards": 0, "red_cards": 0, "letters": 0}
               for matter, row in rows.items() if matter != "收养登记")


def test_a_window_is_named_by_its_hall_and_number() -> None:
    names = {"hall-centre": "市民服务中心"}
    assert shown_name("hall-centre/10", "window", names) == "市民服务中心 10号窗口"
    assert shown_name("hall-01/w02", "window", {}) == "hall-01 2号窗口"
    assert shown_name("民政局", "unit", names) == "民政局"


def test_the_ranking_by_window_names_each_window(engine_central: CentralService) -> None:
    with client(engine_central, VIEWER_TOKEN) as viewer:
        rows = viewer.get("/api/performance", params={"by": "window"}).json()
    assert rows and all(row["name"] != row["key"] and "号窗口" in row["name"] for row in rows), rows
