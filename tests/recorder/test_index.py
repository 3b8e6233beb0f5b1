"""The footage index: totals without scans, holds as flags, gaps that keep their causes apart,
and one queue of what central has not heard yet."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from edge.camera_recorder.index import (
    EXPORTS,
    GAPS,
    HOLDS,
    ExportRecord,
    FootageIndex,
    GapCause,
    HoldRecord,
)
from edge.camera_recorder.index.models import EXPORT_GUARD_SOURCE
from edge.camera_recorder.retention import PruneCause, Victim

from .footage import MINUTE, write_run, write_segment

T0 = 1_800_000_000_000


@pytest.fixture
def index(tmp_path: Path) -> FootageIndex:
    footage = FootageIndex(tmp_path / "index.sqlite")
    yield footage
    footage.close()


def hold(
    camera: str, start: int, end: int, *, hold_id: str = "h1", until: int = T0 + 10**12
) -> HoldRecord:
    return HoldRecord(hold_id, camera, start, end, until, "officer", "complaint 17", T0, "cli")


def test_index_uses_wal_so_commands_read_while_the_recorder_writes(index: FootageIndex) -> None:
    assert index.execute("PRAGMA journal_mode")[0][0] == "wal"


def test_totals_follow_inserts_and_deletes_without_a_scan(index: FootageIndex, tmp_path: Path) -> None:
    segs = write_run(index, tmp_path, "cam-1", T0, 3, size=100)
    write_run(index, tmp_path, "cam-2", T0, 2, size=50)
    assert index.cameras.totals() == (400, 5, 0)
    index.segments.prune([Victim(segs[0].ref(), PruneCause.AGE)])
    assert index.cameras.totals() == (300, 4, 0)


def test_a_hold_marks_overlapping_segments_and_new_ones_in_its_range(
    index: FootageIndex, tmp_path: Path
) -> None:
    segs = write_run(index, tmp_path, "cam-1", T0, 5, size=100)
    index.holds.place(hold("cam-1", T0 + MINUTE + 30_000, T0 + 3 * MINUTE + 30_000 + 4 * MINUTE))
    held = [s.id for s in index.segments.between("cam-1", T0, T0 + 10 * MINUTE) if s.held]
    assert held == [segs[1].id, segs[2].id, segs[3].id, segs[4].id]
    later = write_segment(index, tmp_path, "cam-1", T0 + 5 * MINUTE, size=100)
    assert later.held
    assert index.cameras.totals()[2] == 500


def test_releasing_one_hold_keeps_segments_another_hold_covers(
    index: FootageIndex, tmp_path: Path
) -> None:
    write_run(index, tmp_path, "cam-1", T0, 4, size=100)
    index.holds.place(hold("cam-1", T0, T0 + 2 * MINUTE, hold_id="a"))
    index.holds.place(hold("cam-1", T0 + MINUTE, T0 + 4 * MINUTE, hold_id="b"))
    index.holds.release("a", "officer", "complaint closed", T0)
    held = [s.start_ms for s in index.segments.between("cam-1", T0, T0 + 4 * MINUTE) if s.held]
    assert held == [T0 + MINUTE, T0 + 2 * MINUTE, T0 + 3 * MINUTE]
    assert index.holds.get("a").state == "released"


def test_placing_the_same_hold_id_twice_holds_once(index: FootageIndex) -> None:
    first, new = index.holds.place(hold("cam-1", T0, T0 + MINUTE))
    again, new_again = index.holds.place(hold("cam-1", T0, T0 + 5 * MINUTE))
    assert new and not new_again and again.end_ms == first.end_ms
    assert len(index.holds.all()) == 1


def test_unheld_segments_come_oldest_first_through_the_partial_index(
    index: FootageIndex, tmp_path: Path
) -> None:
    write_run(index, tmp_path, "cam-1", T0 + MINUTE, 300, size=10)
    write_run(index, tmp_path, "cam-2", T0, 300, size=10)
    index.holds.place(hold("cam-2", T0, T0 + 10 * MINUTE))
    refs = list(index.segments.unheld(chunk=7))
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
    index.holds.place(hold("cam-1", T0, T0 + MINUTE))
    assert index.segments.prune([victim]) == []
    assert index.cameras.totals()[1] == 1


def test_pruned_runs_become_one_gap_but_an_offline_gap_between_stays_its_own(
    index: FootageIndex, tmp_path: Path
) -> None:
    before = write_run(index, tmp_path, "cam-1", T0, 3)
    index.gaps.begin("cam-1", GapCause.CAMERA_OFFLINE.value, T0 + 3 * MINUTE)
    after = write_run(index, tmp_path, "cam-1", T0 + 10 * MINUTE, 3)
    for segment in before + after:
        index.segments.prune([Victim(segment.ref(), PruneCause.AGE)])
    gaps = [(g.cause, g.start_ms, g.end_ms) for g in index.gaps.between("cam-1", T0, T0 + 20 * MINUTE)]
    assert gaps == [
        ("pruned_age", T0, T0 + 3 * MINUTE),
        ("camera_offline", T0 + 3 * MINUTE, T0 + 10 * MINUTE),
        ("pruned_age", T0 + 10 * MINUTE, T0 + 13 * MINUTE),
    ]


def test_a_new_segment_closes_the_open_gap_at_its_start(index: FootageIndex, tmp_path: Path) -> None:
    write_segment(index, tmp_path, "cam-1", T0)
    index.gaps.begin("cam-1", GapCause.STALLED.value, T0 + MINUTE, "no data")
    index.gaps.begin("cam-1", GapCause.CAMERA_OFFLINE.value, T0 + 2 * MINUTE, "refused")
    write_segment(index, tmp_path, "cam-1", T0 + 5 * MINUTE)
    gaps = [(g.cause, g.start_ms, g.end_ms) for g in index.gaps.between("cam-1", T0, T0 + 6 * MINUTE)]
    assert gaps == [
        ("stalled", T0 + MINUTE, T0 + 2 * MINUTE),
        ("camera_offline", T0 + 2 * MINUTE, T0 + 5 * MINUTE),
    ]
    assert index.gaps.current("cam-1") is None


def test_a_gap_extended_after_it_was_reported_is_reported_again(
    index: FootageIndex, tmp_path: Path
) -> None:
    segs = write_run(index, tmp_path, "cam-1", T0, 2)
    index.segments.prune([Victim(segs[0].ref(), PruneCause.AGE)])
    (gap,) = index.reports.pending(GAPS)
    index.reports.sent(gap)
    assert index.reports.pending(GAPS) == []
    index.segments.prune([Victim(segs[1].ref(), PruneCause.AGE)])
    (again,) = index.reports.pending(GAPS)
    assert again.item.id == gap.item.id and again.item.end_ms == T0 + 2 * MINUTE


def test_a_hold_placed_and_released_before_it_was_reported_is_reported_once_as_released(
    index: FootageIndex,
) -> None:
    index.holds.place(hold("cam-1", T0, T0 + MINUTE))
    index.holds.release("h1", "officer", "withdrawn", T0)
    (due,) = index.reports.pending(HOLDS)
    assert due.item.state == "released"
    index.reports.sent(due)
    assert index.reports.pending(HOLDS) == []


def test_a_hold_released_while_its_report_was_on_the_way_is_reported_again(
    index: FootageIndex,
) -> None:
    index.holds.place(hold("cam-1", T0, T0 + MINUTE))
    (placed,) = index.reports.pending(HOLDS)
    index.holds.release("h1", "officer", "withdrawn", T0)
    index.reports.sent(placed)
    (released,) = index.reports.pending(HOLDS)
    assert (placed.item.state, released.item.state) == ("active", "released")


def test_the_hold_an_export_places_on_its_range_is_never_reported(index: FootageIndex) -> None:
    guard = HoldRecord("export:x1", "cam-1", T0, T0 + MINUTE, T0 + 10**12, "officer",
                        "export x1", T0, EXPORT_GUARD_SOURCE)
    index.holds.place(guard)
    index.holds.release(guard.id, "officer", "export finished", T0)
    assert index.reports.pending(HOLDS) == []


def test_an_export_is_reported_once(index: FootageIndex) -> None:
    record = ExportRecord("x1", "cam-1", T0, T0 + MINUTE, "officer", "complaint 17", T0,
                          "/clips/x1.mp4", 10, "c" * 64, "{}", "m" * 64)
    index.exports.add(record)
    (due,) = index.reports.pending(EXPORTS)
    assert due.item == record
    index.reports.sent(due)
    assert index.reports.pending(EXPORTS) == []


# The three tables as version 1 of the index created them, each with its own "reported" flag.
VERSION_1_TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema', '1');
CREATE TABLE gaps (
    id INTEGER PRIMARY KEY AUTOINCREMENT, camera TEXT NOT NULL, start_ms INTEGER NOT NULL,
    end_ms INTEGER, cause TEXT NOT NULL, detail TEXT, reported INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX gaps_unreported ON gaps (id) WHERE reported = 0;
CREATE TABLE holds (
    id TEXT PRIMARY KEY, camera TEXT NOT NULL, start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL, until_ms INTEGER NOT NULL, who TEXT NOT NULL, why TEXT NOT NULL,
    placed_ms INTEGER NOT NULL, source TEXT NOT NULL, released_ms INTEGER, released_by TEXT,
    release_why TEXT, reported_state TEXT
);
CREATE TABLE exports (
    id TEXT PRIMARY KEY, camera TEXT NOT NULL, start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL, who TEXT NOT NULL, why TEXT NOT NULL, created_ms INTEGER NOT NULL,
    clip_path TEXT NOT NULL, clip_bytes INTEGER NOT NULL, clip_sha256 TEXT NOT NULL,
    manifest TEXT NOT NULL, manifest_sha256 TEXT NOT NULL, reported INTEGER NOT NULL DEFAULT 0
);
INSERT INTO gaps (camera, start_ms, end_ms, cause, reported) VALUES
    ('cam-1', 0, 10, 'stalled', 1),
    ('cam-1', 20, 30, 'stalled', 0),
    ('cam-1', 40, NULL, 'camera_offline', 0);
INSERT INTO holds VALUES
    ('told', 'cam-1', 0, 10, 99, 'w', 'y', 0, 'cli', NULL, NULL, NULL, 'active'),
    ('ended', 'cam-1', 0, 10, 99, 'w', 'y', 0, 'cli', 5, 'w', 'done', 'active'),
    ('new', 'cam-1', 0, 10, 99, 'w', 'y', 0, 'cli', NULL, NULL, NULL, NULL),
    ('export:x1', 'cam-1', 0, 10, 99, 'w', 'y', 0, 'export', 5, 'w', 'done', 'released');
INSERT INTO exports VALUES
    ('x1', 'cam-1', 0, 10, 'w', 'y', 1, 'a.mp4', 1, 'h', '{}', 'm', 1),
    ('x2', 'cam-1', 0, 10, 'w', 'y', 2, 'b.mp4', 1, 'h', '{}', 'm', 0);
"""


def test_an_index_from_version_1_still_reports_what_it_owed_central(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    old = sqlite3.connect(path)
    old.executescript(VERSION_1_TABLES)
    old.close()

    upgraded = FootageIndex(path)
    try:
        assert [d.item.start_ms for d in upgraded.reports.pending(GAPS)] == [20]
        assert sorted(d.item.id for d in upgraded.reports.pending(HOLDS)) == ["ended", "new"]
        assert [d.item.id for d in upgraded.reports.pending(EXPORTS)] == ["x2"]
        assert upgraded.meta.get("schema") == "2"
        columns = {row[1] for table in ("gaps", "holds", "exports")
                   for row in upgraded.execute(f"PRAGMA table_info({table})")}
        assert not {"reported", "reported_state"} & columns
    finally:
        upgraded.close()
