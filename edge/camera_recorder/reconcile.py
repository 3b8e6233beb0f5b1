"""Start-up reconciliation of the index with the disk, in time bounded by what a crash can leave.

A crash or power cut can leave only: files queued for deletion (pruning was
interrupted), segment lists ffmpeg wrote that were not yet read, the segment
that was being written, and the newest indexed files not yet on the platter.
All of them live in the pending-unlink table, the `.runs` folders and the day
folders at or after the newest indexed segment, so start-up reads exactly
those, never the whole tree. Files deleted behind the recorder's back
elsewhere are found by the slow background audit (`audit_step`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from edge.camera_recorder.camera import ClosedSegment
from edge.camera_recorder.ffmpeg import SegmentListReader
from edge.camera_recorder.index import FootageIndex, GapCause
from edge.camera_recorder.index.unlinks import PendingUnlinks
from edge.camera_recorder.ingest import SegmentIngest
from edge.camera_recorder.segments import RUNS_DIR, day_folder, parse_segment_name
from spine.clock import Clock

log = logging.getLogger(__name__)

ALIVE_KEY = "alive_ms"
AUDIT_CURSOR_KEY = "audit_cursor"
RECENT_CHECKED = 3  # newest segments per camera whose files are checked at start-up


@dataclass
class ReconcileReport:
    unlinked: int = 0
    listed: int = 0
    """Segments ffmpeg had closed whose list lines were not yet indexed."""
    leftovers: int = 0
    """Half-written segments kept (cut back to whole packets)."""
    missing: int = 0
    """Indexed segments whose files were gone."""
    folders_scanned: int = 0
    files_scanned: int = 0
    seconds: float = 0.0
    cameras: list[str] = field(default_factory=list)


def reconcile(
    index: FootageIndex, storage_dir: Path, cameras: Iterable[str], clock: Clock, *, segment_s: int
) -> ReconcileReport:
    """Make the index and the disk agree after a stop, crash or power cut.

    `segment_s` bounds a half-written segment: it cannot hold more than one.
    """
    started = time.monotonic()
    report = ReconcileReport()
    report.unlinked = finish_unlinks(index.unlinks, storage_dir, clock.wall_ms())
    known = {row.id for row in index.cameras.all()} | set(cameras)
    alive = index.meta.get(ALIVE_KEY)
    alive_ms = int(alive) if alive is not None else None
    for camera in sorted(known):
        report.cameras.append(camera)
        ingest = SegmentIngest(index.segments, storage_dir, camera, clock, segment_s)
        ingest.follow(index.segments.last(camera))  # what the crashed run recorded last
        _read_run_lists(storage_dir / camera, ingest, report)
        _check_recent(index, storage_dir, camera, report)
        _adopt_leftovers(index, storage_dir / camera, camera, ingest, report)
        _mark_recorder_down(index, camera, alive_ms, clock)
    report.seconds = time.monotonic() - started
    return report


def finish_unlinks(unlinks: PendingUnlinks, storage_dir: Path, now_ms: int | None = None) -> int:
    """Delete the files a prune committed to deleting (after a crash, or normally right after)."""
    today = day_folder(now_ms if now_ms is not None else time.time_ns() // 1_000_000)
    done = 0
    while True:
        paths = unlinks.pending()
        if not paths:
            return done
        folders: set[Path] = set()
        for relative in paths:
            path = storage_dir / relative
            path.unlink(missing_ok=True)
            folders.add(path.parent)
        unlinks.done(paths)
        for folder in folders:
            # Today's and tomorrow's folders stay: ffmpeg cannot create them when it cuts.
            if folder.name < today:
                _remove_if_empty(folder)
        done += len(paths)


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()  # only succeeds when the day folder has no segment left


def _read_run_lists(camera_dir: Path, ingest: SegmentIngest, report: ReconcileReport) -> None:
    runs_dir = camera_dir / RUNS_DIR
    if not runs_dir.is_dir():
        return
    for list_path in sorted(runs_dir.glob("*.csv")):
        closed: list[ClosedSegment] = SegmentListReader(list_path).read()
        for item in closed:
            if ingest.closed(item) is not None:
                report.listed += 1
        list_path.unlink(missing_ok=True)


def _check_recent(
    index: FootageIndex, storage_dir: Path, camera: str, report: ReconcileReport
) -> None:
    """The newest indexed files are the ones a power cut may have taken with it."""
    for segment in index.segments.recent(camera, RECENT_CHECKED):
        if not (storage_dir / segment.path).exists():
            log.warning("%s: indexed segment %s is missing on disk", camera, segment.path)
            index.segments.forget_missing(segment)
            report.missing += 1


def _adopt_leftovers(
    index: FootageIndex,
    camera_dir: Path,
    camera: str,
    ingest: SegmentIngest,
    report: ReconcileReport,
) -> None:
    """Index files newer than the newest indexed segment: only the last day folders are read."""
    if not camera_dir.is_dir():
        return
    last = index.segments.last(camera)
    newest_day = last.path.split("/")[1] if last is not None else ""
    # Names sort by opening time, so files named before the newest indexed one
    # were indexed (or deliberately left) by an earlier start.
    newest_time = last.path.rsplit("/", 1)[1][:16] if last is not None else ""
    days = sorted(
        entry.name
        for entry in os.scandir(camera_dir)
        if entry.is_dir() and entry.name.isdigit() and entry.name >= newest_day
    )
    for day in days:
        report.folders_scanned += 1
        names = sorted(entry.name for entry in os.scandir(camera_dir / day) if entry.is_file())
        for name in names:
            report.files_scanned += 1
            if name[:16] < newest_time:
                continue
            parsed = parse_segment_name(name)
            if parsed is None or index.segments.has_path(parsed.relative_path(camera)):
                continue
            if ingest.leftover(camera_dir / day / name) is not None:
                report.leftovers += 1


def _mark_recorder_down(
    index: FootageIndex, camera: str, alive_ms: int | None, clock: Clock
) -> None:
    """The time the recorder was not running is a gap of its own, never silence."""
    last = index.segments.last(camera)
    gap = index.gaps.current(camera)
    if gap is not None:
        if gap.cause == GapCause.RECORDER_DOWN:
            return
        at = max(gap.start_ms, alive_ms or gap.start_ms)
    elif last is not None:
        at = last.end_ms
    else:
        return  # never recorded: nothing was interrupted
    index.gaps.begin(camera, GapCause.RECORDER_DOWN.value, min(at, clock.wall_ms()), None)


def audit_step(index: FootageIndex, storage_dir: Path, rows: int) -> int:
    """Check the next `rows` indexed files exist; the cursor wraps. Returns how many were missing."""
    cursor = int(index.meta.get(AUDIT_CURSOR_KEY) or 0)
    segments = index.segments.after_id(cursor, rows)
    missing = 0
    for segment in segments:
        if not (storage_dir / segment.path).exists():
            log.warning("%s: indexed segment %s is missing on disk", segment.camera, segment.path)
            index.segments.forget_missing(segment)
            missing += 1
    index.meta.set(AUDIT_CURSOR_KEY, str(segments[-1].id if len(segments) == rows else 0))
    return missing
