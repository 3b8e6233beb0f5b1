"""The performance ranking rule, on figures written by hand."""

from __future__ import annotations

import httpx

from central.performance import evaluate, score


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
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    by_unit = {r["key"]: r for r in rows}
    # 人社局 holds a red card among the seeded cases; 民政局 holds none.
    assert by_unit["人社局"]["red_cards"] == 1
    assert by_unit["民政局"]["score"] > by_unit["人社局"]["score"]
