"""Files deleted behind the recorder's back: found by the slow audit, recorded as such."""

from __future__ import annotations

from pathlib import Path

from edge.camera_recorder.index import FootageIndex, GapCause
from edge.camera_recorder.reconcile import audit_step

from .footage import MINUTE, write_run

T0 = 1_800_000_000_000


def test_the_audit_turns_a_vanished_file_into_a_file_missing_gap(tmp_path: Path) -> None:
    index = FootageIndex(tmp_path / "index.sqlite")
    try:
        segs = write_run(index, tmp_path, "cam-1", T0, 10)
        (tmp_path / segs[4].path).unlink()

        missing = audit_step(index, tmp_path, rows=4) + audit_step(index, tmp_path, rows=4)

        assert missing == 1
        assert segs[4].id not in {s.id for s in index.segments.between("cam-1", 0, 2**62)}
        (gap,) = index.gaps.between("cam-1", T0, T0 + 10 * MINUTE)
        assert (gap.cause, gap.start_ms, gap.end_ms) == (
            GapCause.FILE_MISSING, segs[4].start_ms, segs[4].end_ms
        )
    finally:
        index.close()


def test_the_audit_walks_the_index_in_slices_and_wraps_around(tmp_path: Path) -> None:
    index = FootageIndex(tmp_path / "index.sqlite")
    try:
        segs = write_run(index, tmp_path, "cam-1", T0, 5)
        audit_step(index, tmp_path, rows=3)
        assert index.meta.get("audit_cursor") == str(segs[2].id)
        audit_step(index, tmp_path, rows=3)  # the last two, then back to the start
        assert index.meta.get("audit_cursor") == "0"
        (tmp_path / segs[0].path).unlink()
        assert audit_step(index, tmp_path, rows=3) == 1
    finally:
        index.close()
