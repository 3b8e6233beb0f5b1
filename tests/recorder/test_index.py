"""The footage index: totals without scans, holds as flags, gaps that keep their causes apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.camera_recorder.index import FootageIndex, GapCause, Hold
from edge.camera_recorder.retention import PruneCause, Victim

from .footage import MINUTE, write_run, write_segment

T0 = 1_800_000_000_000


@pytest.fixture
def index(tmp_path: Path) -> FootageIndex:
    footage = FootageIndex(tmp_path / "index.sqlite")
    yield footage
    footage.close()


def hold(camera: str, start: int, end: int, *, hold_id: str = "h1", until: int = T0 + 10**12) -> Hold:
    return Hold(hold_id, camera, start, end, until, "officer", "complaint 17", T0, "cli",
                None, None, None, None)


def test_index_uses_wal_so_commands_read_while_the_recorder_writes(index: FootageIndex) -> None:
    assert index.execute("PRAGMA journal_mode")[0][0] == "wal"


def test_totals_follow_inserts_and_deletes_without_a_scan(index: FootageIndex, tmp_path: Path) -> None:
    segs = write_run(index, tmp_path, "cam-1", T0, 3, size=100)
    write_run(index, tmp_path, "cam-2", T0, 2, size=50)
    assert index.totals() == (400, 5, 0)
    index.remove_segments([Victim(segs[0].ref(), PruneCause.AGE)])
    assert index.totals() == (300, 4, 0)


def test_a_hold_marks_overlapping_segments_and_new_ones_in_its_range(
    index: FootageIndex, tmp_path: Path
) -> None:
    segs = write_run(index, tmp_path, "cam-1", T0, 5, size=100)
    index.place_hold(hold("cam-1", T0 + MINUTE + 30_000, T0 + 3 * MINUTE + 30_000 + 4 * MINUTE))
    held = [s.id for s in index.segments_between("cam-1", T0, T0 + 10 * MINUTE) if s.held]
    assert held == [segs[1].id, segs[2].id, segs[3].id, segs[4].id]
    later = write_segment(index, tmp_path, "cam-1", T0 + 5 * MINUTE, size=100)
    assert later.held
    assert index.totals()[2] == 500


def test_releasing_one_hold_keeps_segments_another_hold_covers(
    index: FootageIndex, tmp_path: Path
) -> None:
    write_run(index, tmp_path, "cam-1", T0, 4, size=100)
    index.place_hold(hold("cam-1", T0, T0 + 2 * MINUTE, hold_id="a"))
    index.place_hold(hold("cam-1", T0 + MINUTE, T0 + 4 * MINUTE, hold_id="b"))
    index.release_hold("a", "officer", "complaint closed", T0)
    held = [s.start_ms for s in index.segments_between("cam-1", T0, T0 + 4 * MINUTE) if s.held]
    assert held == [T0 + MINUTE, T0 + 2 * MINUTE, T0 + 3 * MINUTE]
    assert index.hold("a").state == "released"


def test_placing_the_same_hold_id_twice_holds_once(index: FootageIndex) -> None:
    first, new = index.place_hold(hold("cam-1", T0, T0 + MINUTE))
    again, new_again = index.place_hold(hold("cam-1", T0, T0 + 5 * MINUTE))
    assert new and not new_again and again.end_ms == first.end_ms
    assert len(index.holds()) == 1


def test_unheld_segments_come_oldest_first_through_the_partial_index(
    index: FootageIndex, tmp_path: Path
) -> None:
    write_run(index, tmp_path, "cam-1", T0 + MINUTE, 300, size=10)
    write_run(index, tmp_path, "cam-2", T0, 300, size=10)
    index.place_hold(hold("cam-2", T0, T0 + 10 * MINUTE))
    refs = list(index.iter_unheld(chunk=7))
    assert len(refs) == 590
    assert [r.start_ms for r in refs] == sorted(r.start_ms for r in refs)
    assert all(not (r.camera == "cam-2" and r.start_ms < T0 + 10 * MINUTE) for r in refs)
    plan = index.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM segments INDEXED BY segments_unheld "
        "WHERE held = 0 AND (start_ms, id) > (?, ?) ORDER BY start_ms, id LIMIT 5",
        (0, 0),
    )
    detail = " ".join(str(row[-1]) for row in plan)
    assert "segments_unheld" in detail and "TEMP B-TREE" not in detail


def test_a_segment_held_after_the_plan_was_made_is_not_deleted(
    index: FootageIndex, tmp_path: Path
) -> None:
    seg = write_segment(index, tmp_path, "cam-1", T0)
    victim = Victim(seg.ref(), PruneCause.BUDGET)
    index.place_hold(hold("cam-1", T0, T0 + MINUTE))
    assert index.remove_segments([victim]) == []
    assert index.totals()[1] == 1


def test_pruned_runs_become_one_gap_but_an_offline_gap_between_stays_its_own(
    index: FootageIndex, tmp_path: Path
) -> None:
    before = write_run(index, tmp_path, "cam-1", T0, 3)
    index.begin_gap("cam-1", GapCause.CAMERA_OFFLINE.value, T0 + 3 * MINUTE)
    after = write_run(index, tmp_path, "cam-1", T0 + 10 * MINUTE, 3)
    for segment in before + after:
        index.remove_segments([Victim(segment.ref(), PruneCause.AGE)])
    gaps = [(g.cause, g.start_ms, g.end_ms) for g in index.gaps_between("cam-1", T0, T0 + 20 * MINUTE)]
    assert gaps == [
        ("pruned_age", T0, T0 + 3 * MINUTE),
        ("camera_offline", T0 + 3 * MINUTE, T0 + 10 * MINUTE),
        ("pruned_age", T0 + 10 * MINUTE, T0 + 13 * MINUTE),
    ]


def test_a_new_segment_closes_the_open_gap_at_its_start(index: FootageIndex, tmp_path: Path) -> None:
    write_segment(index, tmp_path, "cam-1", T0)
    index.begin_gap("cam-1", GapCause.STALLED.value, T0 + MINUTE, "no data")
    index.begin_gap("cam-1", GapCause.CAMERA_OFFLINE.value, T0 + 2 * MINUTE, "refused")
    write_segment(index, tmp_path, "cam-1", T0 + 5 * MINUTE)
    gaps = [(g.cause, g.start_ms, g.end_ms) for g in index.gaps_between("cam-1", T0, T0 + 6 * MINUTE)]
    assert gaps == [
        ("stalled", T0 + MINUTE, T0 + 2 * MINUTE),
        ("camera_offline", T0 + 2 * MINUTE, T0 + 5 * MINUTE),
    ]
    assert index.open_gap("cam-1") is None


def test_a_gap_extended_after_it_was_reported_is_reported_again(
    index: FootageIndex, tmp_path: Path
) -> None:
    segs = write_run(index, tmp_path, "cam-1", T0, 2)
    index.remove_segments([Victim(segs[0].ref(), PruneCause.AGE)])
    (gap,) = index.unreported_gaps()
    index.mark_gap_reported(gap)
    assert index.unreported_gaps() == []
    index.remove_segments([Victim(segs[1].ref(), PruneCause.AGE)])
    (again,) = index.unreported_gaps()
    assert again.id == gap.id and again.end_ms == T0 + 2 * MINUTE
