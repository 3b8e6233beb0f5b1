"""Retention rules on their own: no disk, no database, no clock but the one passed in."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from edge.camera_recorder.retention import (
    DAY_MS,
    PruneCause,
    SegmentRef,
    age_cutoff_ms,
    allowed_bytes,
    forecast_capacity,
    plan_prune,
)

NOW = 1_800_000_000_000
MINUTE = 60_000


def segments(camera: str, count: int, *, first_id: int, start: int, size: int = 100) -> list[SegmentRef]:
    return [
        SegmentRef(first_id + n, camera, start + n * MINUTE, start + (n + 1) * MINUTE, size)
        for n in range(count)
    ]


class Counting:
    """An iterable that counts how many items the rules actually read."""

    def __init__(self, items: Iterable[SegmentRef]) -> None:
        self.items = list(items)
        self.read = 0

    def __iter__(self) -> Iterator[SegmentRef]:
        for item in self.items:
            self.read += 1
            yield item


def oldest_first(*groups: list[SegmentRef]) -> list[SegmentRef]:
    return sorted((s for g in groups for s in g), key=lambda s: (s.start_ms, s.id))


def test_segments_older_than_the_period_go_and_the_rest_stay() -> None:
    old = segments("cam-1", 5, first_id=1, start=NOW - 31 * DAY_MS)
    recent = segments("cam-1", 5, first_id=10, start=NOW - DAY_MS)
    plan = plan_prune(
        now_ms=NOW,
        retention_days={"cam-1": 30},
        unheld_by_camera={"cam-1": old + recent},
        unheld_oldest=old + recent,
        used_bytes=1000,
        allowed=10_000,
        limit=100,
    )
    assert [v.segment.id for v in plan.victims] == [1, 2, 3, 4, 5]
    assert {v.cause for v in plan.victims} == {PruneCause.AGE}
    assert plan.freed_bytes == 500 and plan.shortfall_bytes == 0


def test_each_camera_keeps_its_own_period() -> None:
    start = NOW - 10 * DAY_MS
    lobby = segments("lobby", 3, first_id=1, start=start)
    window = segments("window", 3, first_id=10, start=start)
    plan = plan_prune(
        now_ms=NOW,
        retention_days={"lobby": 7, "window": 30},
        unheld_by_camera={"lobby": lobby, "window": window},
        unheld_oldest=oldest_first(lobby, window),
        used_bytes=600,
        allowed=10_000,
        limit=100,
    )
    assert {v.segment.camera for v in plan.victims} == {"lobby"}


def test_a_pass_reads_only_what_it_deletes_plus_one() -> None:
    old = segments("cam-1", 3, first_id=1, start=NOW - 40 * DAY_MS)
    kept = segments("cam-1", 10_000, first_id=100, start=NOW - 20 * DAY_MS)
    by_camera = Counting(old + kept)
    overall = Counting(old + kept)
    plan = plan_prune(
        now_ms=NOW,
        retention_days={"cam-1": 30},
        unheld_by_camera={"cam-1": by_camera},
        unheld_oldest=overall,
        used_bytes=10_003 * 100,
        allowed=10**9,
        limit=100,
    )
    assert len(plan.victims) == 3
    assert by_camera.read == 4  # the three it deletes and the first one it keeps
    assert overall.read == 0  # under budget: the budget rule reads nothing


def test_over_budget_the_oldest_of_any_camera_go_first() -> None:
    a = segments("a", 3, first_id=1, start=NOW - 3 * DAY_MS)
    b = segments("b", 3, first_id=10, start=NOW - 3 * DAY_MS + 30_000)
    plan = plan_prune(
        now_ms=NOW,
        retention_days={"a": 30, "b": 30},
        unheld_by_camera={"a": a, "b": b},
        unheld_oldest=oldest_first(a, b),
        used_bytes=600,
        allowed=350,
        limit=100,
    )
    assert [v.segment.id for v in plan.victims] == [1, 10, 2]
    assert {v.cause for v in plan.victims} == {PruneCause.BUDGET}
    assert plan.freed_bytes == 300


def test_age_and_budget_together_do_not_delete_a_segment_twice() -> None:
    old = segments("a", 2, first_id=1, start=NOW - 40 * DAY_MS)
    recent = segments("a", 4, first_id=10, start=NOW - DAY_MS)
    plan = plan_prune(
        now_ms=NOW,
        retention_days={"a": 30},
        unheld_by_camera={"a": old + recent},
        unheld_oldest=old + recent,
        used_bytes=600,
        allowed=300,
        limit=100,
    )
    ids = [v.segment.id for v in plan.victims]
    assert ids == [1, 2, 10]
    assert len(set(ids)) == len(ids)


def test_when_only_held_footage_is_left_the_plan_reports_a_shortfall() -> None:
    # Held segments are never candidates: the caller's unheld iterables leave them out.
    unheld = segments("a", 2, first_id=1, start=NOW - DAY_MS)
    plan = plan_prune(
        now_ms=NOW,
        retention_days={"a": 30},
        unheld_by_camera={"a": unheld},
        unheld_oldest=unheld,
        used_bytes=1_000,  # 800 of it held
        allowed=500,
        limit=100,
    )
    assert len(plan.victims) == 2
    assert plan.shortfall_bytes == 300


def test_a_pass_stops_at_its_batch_limit_and_says_there_is_more() -> None:
    old = segments("a", 10, first_id=1, start=NOW - 40 * DAY_MS)
    plan = plan_prune(
        now_ms=NOW,
        retention_days={"a": 30},
        unheld_by_camera={"a": old},
        unheld_oldest=old,
        used_bytes=1_000,
        allowed=10_000,
        limit=4,
    )
    assert len(plan.victims) == 4 and plan.more


def test_age_cutoff_counts_fractional_days() -> None:
    assert age_cutoff_ms(NOW, 1.5) == NOW - 36 * 3_600_000


def test_the_disk_can_allow_less_than_the_budget() -> None:
    assert allowed_bytes(1_000, used_bytes=600, fs_free_bytes=10_000, min_free_bytes=0) == 1_000
    # Other files filled the disk: only 100 more bytes may be used before min_free.
    assert allowed_bytes(1_000, used_bytes=600, fs_free_bytes=300, min_free_bytes=200) == 700
    # No budget: the whole disk less min_free.
    assert allowed_bytes(0, used_bytes=600, fs_free_bytes=1_000, min_free_bytes=200) == 1_400


def test_forecast_says_how_many_days_the_budget_really_holds() -> None:
    forecast = forecast_capacity(
        bytes_per_day={"a": 100.0, "b": 100.0},
        retention_days={"a": 30, "b": 30},
        allowed=4_000,
        held_bytes=1_000,
    )
    assert forecast.short
    assert forecast.needed_bytes == 7_000
    assert forecast.days_possible == 15.0
    assert not forecast.holds_over_budget


def test_forecast_is_not_short_when_the_period_fits() -> None:
    forecast = forecast_capacity(
        bytes_per_day={"a": 100.0}, retention_days={"a": 30}, allowed=3_000, held_bytes=0
    )
    assert not forecast.short and forecast.days_possible == 30.0


def test_holds_over_budget_is_its_own_condition() -> None:
    forecast = forecast_capacity(
        bytes_per_day={"a": 1.0}, retention_days={"a": 30}, allowed=500, held_bytes=800
    )
    assert forecast.holds_over_budget and forecast.days_possible == 0.0
