"""Retention on a recorder with a controlled clock and a tiny disk budget (no cameras recording)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from edge.camera_recorder.config import RecorderConfig
from edge.camera_recorder.holds import HoldRequest, ReleaseRequest
from edge.camera_recorder.index import FootageIndex
from edge.camera_recorder.retention import DAY_MS, PruneCause, Victim
from edge.camera_recorder.service import Recorder
from spine.clock import SimulatedClock

from .conftest import EventLog, recorder_config
from .footage import MINUTE, write_run

NOW = 1_800_000_000_000
HUGE_DISK = (10**13, 10**13)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(NOW)


def config_for(tmp_path: Path, **recorder: object) -> RecorderConfig:
    cameras = [
        {"id": "cam-1", "url": "tcp://127.0.0.1:9", "windows": ["w01"]},
        {"id": "cam-2", "url": "tcp://127.0.0.1:9", "windows": ["w01", "w02"]},
    ]
    return recorder_config(tmp_path, cameras, **recorder)


def files_of(config: RecorderConfig, camera: str) -> list[str]:
    root = config.storage_dir / camera
    return sorted(p.name for p in root.rglob("*.ts")) if root.exists() else []


def footage(config: RecorderConfig) -> FootageIndex:
    return FootageIndex(config.index_path)


def test_footage_older_than_the_period_leaves_disk_and_index_as_a_pruned_gap(
    tmp_path: Path, clock: SimulatedClock, make_recorder: Callable[..., Recorder], events: EventLog
) -> None:
    config = config_for(tmp_path, retention_days=30)
    index = footage(config)
    old = write_run(index, config.storage_dir, "cam-1", NOW - 31 * DAY_MS, 3)
    recent = write_run(index, config.storage_dir, "cam-1", NOW - DAY_MS, 2)
    index.close()
    recorder = make_recorder(config, record=False, background=False, clock=clock, disk=lambda: HUGE_DISK)

    result = recorder.prune_once()

    assert result.pruned == 3
    assert [s.id for s in recorder.index.segments.between("cam-1", 0, NOW)] == [s.id for s in recent]
    assert len(files_of(config, "cam-1")) == 2
    assert not (config.storage_dir / old[0].path).parent.exists()  # the empty day folder went too
    (gap,) = recorder.index.gaps.between("cam-1", 0, NOW - 2 * DAY_MS)
    assert (gap.cause, gap.start_ms, gap.end_ms) == ("pruned_age", old[0].start_ms, old[-1].end_ms)
    recorder.report_pending()
    assert events.of("recorder.gap")[-1]["cause"] == "pruned_age"


def test_the_clock_moving_on_ages_footage_out(
    tmp_path: Path, clock: SimulatedClock, make_recorder: Callable[..., Recorder]
) -> None:
    config = config_for(tmp_path, retention_days=1)
    index = footage(config)
    write_run(index, config.storage_dir, "cam-1", NOW - 12 * 3_600_000, 2)
    index.close()
    recorder = make_recorder(config, record=False, background=False, clock=clock, disk=lambda: HUGE_DISK)
    assert recorder.prune_once().pruned == 0
    clock.advance(13 * 3_600_000)
    assert recorder.prune_once().pruned == 2
    assert files_of(config, "cam-1") == []


def test_over_budget_the_oldest_footage_of_any_camera_goes_first(
    tmp_path: Path, clock: SimulatedClock, make_recorder: Callable[..., Recorder]
) -> None:
    config = config_for(tmp_path, budget_bytes=4_000)
    index = footage(config)
    one = write_run(index, config.storage_dir, "cam-1", NOW - 10 * MINUTE, 3, size=1000)
    two = write_run(index, config.storage_dir, "cam-2", NOW - 10 * MINUTE + 30_000, 3, size=1000)
    index.close()
    recorder = make_recorder(config, record=False, background=False, clock=clock, disk=lambda: HUGE_DISK)

    result = recorder.prune_once()

    assert result.pruned == 2 and result.shortfall_bytes == 0
    kept = {s.id for c in ("cam-1", "cam-2") for s in recorder.index.segments.between(c, 0, NOW)}
    assert kept == {one[1].id, one[2].id, two[1].id, two[2].id}
    assert recorder.index.cameras.totals()[0] == 4_000
    closed = [g for c in ("cam-1", "cam-2") for g in recorder.index.gaps.between(c, 0, NOW)
              if g.end_ms is not None]
    assert {g.cause for g in closed} == {PruneCause.BUDGET.value}


def test_held_footage_survives_both_age_and_budget(
    tmp_path: Path, clock: SimulatedClock, make_recorder: Callable[..., Recorder]
) -> None:
    config = config_for(tmp_path, retention_days=30, budget_bytes=2_000)
    index = footage(config)
    evidence = write_run(index, config.storage_dir, "cam-1", NOW - 40 * DAY_MS, 2, size=1000)
    write_run(index, config.storage_dir, "cam-1", NOW - 10 * MINUTE, 3, size=1000)
    index.close()
    recorder = make_recorder(config, record=False, background=False, clock=clock, disk=lambda: HUGE_DISK)
    recorder.place_hold(
        HoldRequest.model_validate(
            {"camera": "cam-1", "from": evidence[0].start_ms, "to": evidence[-1].end_ms,
             "until": NOW + 90 * DAY_MS, "who": "Officer Li", "why": "complaint 2026-117"}
        ),
        source="cli",
    )

    recorder.prune_once()

    kept = recorder.index.segments.between("cam-1", 0, NOW)
    assert [s.id for s in kept if s.held] == [s.id for s in evidence]
    assert all((config.storage_dir / s.path).exists() for s in evidence)
    assert recorder.index.cameras.totals()[0] <= 2_000


def test_when_holds_alone_overflow_the_budget_the_recorder_alarms_instead_of_pruning_them(
    tmp_path: Path, clock: SimulatedClock, make_recorder: Callable[..., Recorder], events: EventLog
) -> None:
    config = config_for(tmp_path, budget_bytes=1_500)
    index = footage(config)
    held = write_run(index, config.storage_dir, "cam-1", NOW - 10 * MINUTE, 3, size=1000)
    index.close()
    recorder = make_recorder(config, record=False, background=False, clock=clock, disk=lambda: HUGE_DISK)
    recorder.place_hold(
        HoldRequest.model_validate(
            {"camera": "cam-1", "from": held[0].start_ms, "to": held[-1].end_ms,
             "until": "+30d", "who": "Officer Li", "why": "complaint 118"}
        ),
        source="cli",
    )

    result = recorder.prune_once()

    assert result.pruned == 0 and result.shortfall_bytes == 1_500
    assert len(files_of(config, "cam-1")) == 3
    raised = {e["code"] for e in events.of("recorder.alarm") if e["state"] == "raised"}
    assert {"holds_over_budget", "holds_block_pruning"} <= raised
    assert {code for code, _, _ in recorder.index.alarms.active()} >= raised


def test_a_budget_that_cannot_hold_the_period_alarms_early_with_the_days_it_holds(
    tmp_path: Path, clock: SimulatedClock, make_recorder: Callable[..., Recorder], events: EventLog
) -> None:
    # An hour of footage at 1000 bytes a minute is 1.44 MB a day; 30 days need 43.2 MB.
    config = config_for(tmp_path, retention_days=30, budget_bytes=14_400_000)
    index = footage(config)
    write_run(index, config.storage_dir, "cam-1", NOW - 60 * MINUTE, 60, size=1000)
    index.close()
    recorder = make_recorder(config, record=False, background=False, clock=clock, disk=lambda: HUGE_DISK)

    recorder.prune_once()

    (alarm,) = [e for e in events.of("recorder.alarm") if e["code"] == "budget_short"]
    assert alarm["state"] == "raised"
    assert alarm["days_possible"] == pytest.approx(10.0, rel=0.01)
    assert alarm["days_wanted"] == 30
    assert recorder.health()["disk"]["days_possible"] == pytest.approx(10.0, rel=0.01)


def test_the_budget_alarm_clears_once_when_the_budget_is_enough(
    tmp_path: Path, clock: SimulatedClock, make_recorder: Callable[..., Recorder], events: EventLog
) -> None:
    config = config_for(tmp_path, retention_days=30, budget_bytes=14_400_000)
    index = footage(config)
    write_run(index, config.storage_dir, "cam-1", NOW - 60 * MINUTE, 60, size=1000)
    index.close()
    recorder = make_recorder(config, record=False, background=False, clock=clock, disk=lambda: HUGE_DISK)
    recorder.prune_once()
    recorder.prune_once()
    assert [e["state"] for e in events.of("recorder.alarm")] == ["raised"]
    recorder.settings = recorder.settings.model_copy(update={"budget_bytes": 50_000_000})
    recorder.prune_once()
    assert [e["state"] for e in events.of("recorder.alarm")] == ["raised", "cleared"]


def test_an_expired_hold_lets_retention_take_its_footage(
    tmp_path: Path, clock: SimulatedClock, make_recorder: Callable[..., Recorder], events: EventLog
) -> None:
    config = config_for(tmp_path, retention_days=30)
    index = footage(config)
    old = write_run(index, config.storage_dir, "cam-1", NOW - 31 * DAY_MS, 2)
    index.close()
    recorder = make_recorder(config, record=False, background=False, clock=clock, disk=lambda: HUGE_DISK)
    recorder.place_hold(
        HoldRequest.model_validate(
            {"camera": "cam-1", "from": old[0].start_ms, "to": old[-1].end_ms,
             "until": NOW + DAY_MS, "who": "Officer Li", "why": "complaint 119"}
        ),
        source="cli",
    )
    assert recorder.prune_once().pruned == 0
    clock.advance(DAY_MS + 1)
    assert recorder.prune_once().pruned == 2
    recorder.report_pending()
    assert [e["state"] for e in events.of("recorder.hold")] == ["active", "expired"]


def test_a_window_hold_holds_every_camera_of_that_window_and_releases_together(
    tmp_path: Path, clock: SimulatedClock, make_recorder: Callable[..., Recorder], events: EventLog
) -> None:
    config = config_for(tmp_path)
    recorder = make_recorder(config, record=False, background=False, clock=clock, disk=lambda: HUGE_DISK)
    placed = recorder.place_hold(
        HoldRequest.model_validate(
            {"hold_id": "c-120", "window": "w01", "from": NOW - MINUTE, "to": NOW,
             "until": "+180d", "who": "Officer Li", "why": "complaint 120"}
        ),
        source="mqtt",
    )
    assert sorted(p.hold.id for p in placed) == ["c-120:cam-1", "c-120:cam-2"]
    released = recorder.release_hold(
        ReleaseRequest(hold_id="c-120", who="Officer Li", why="withdrawn")
    )
    assert sorted(h.camera for h in released) == ["cam-1", "cam-2"]
    states = sorted((e["camera"], e["state"]) for e in events.of("recorder.hold"))
    assert states == [("cam-1", "active"), ("cam-1", "released"),
                      ("cam-2", "active"), ("cam-2", "released")]


def test_a_prune_interrupted_by_a_crash_is_finished_at_start_up(
    tmp_path: Path, clock: SimulatedClock, make_recorder: Callable[..., Recorder]
) -> None:
    config = config_for(tmp_path)
    index = footage(config)
    segs = write_run(index, config.storage_dir, "cam-1", NOW - 10 * MINUTE, 3)
    # The index committed the deletion; the power went before the files were unlinked.
    index.segments.prune([Victim(s.ref(), PruneCause.BUDGET) for s in segs[:2]])
    index.close()
    assert len(files_of(config, "cam-1")) == 3

    recorder = make_recorder(config, record=False, background=False, clock=clock, disk=lambda: HUGE_DISK)

    assert recorder.reconciled is not None and recorder.reconciled.unlinked == 2
    assert len(files_of(config, "cam-1")) == 1
    assert recorder.index.unlinks.pending() == []


def test_a_wall_clock_jumping_forward_pauses_age_pruning_but_not_the_budget(
    tmp_path: Path, clock: SimulatedClock, make_recorder: Callable[..., Recorder], events: EventLog
) -> None:
    config = config_for(tmp_path, retention_days=30, budget_bytes=4_000)
    index = footage(config)
    write_run(index, config.storage_dir, "cam-1", NOW - 10 * DAY_MS, 5, size=1000)
    index.close()
    recorder = make_recorder(config, record=False, background=False, clock=clock,
                             disk=lambda: HUGE_DISK)

    clock.set_wall(NOW + 365 * DAY_MS)  # a bad NTP answer: a year ahead
    result = recorder.prune_once()

    assert result.pruned == 1  # the budget still holds, the year-old "age" deletes nothing more
    assert recorder.index.cameras.totals()[1] == 4
    (alarm,) = [e for e in events.of("recorder.alarm") if e["code"] == "clock_jump"]
    assert alarm["state"] == "raised"


def test_pruning_never_removes_the_folder_ffmpeg_is_writing_today(
    tmp_path: Path, clock: SimulatedClock, make_recorder: Callable[..., Recorder]
) -> None:
    config = config_for(tmp_path, budget_bytes=500)
    index = footage(config)
    today = write_run(index, config.storage_dir, "cam-1", NOW - 10 * MINUTE, 3, size=1000)
    index.close()
    recorder = make_recorder(config, record=False, background=False, clock=clock,
                             disk=lambda: HUGE_DISK)
    assert recorder.prune_once().pruned == 3
    assert files_of(config, "cam-1") == []
    assert (config.storage_dir / today[0].path).parent.is_dir()
