"""Segment files on disk: their names, their folders, and making a closed file durable."""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

TS_PACKET = 188
SEGMENT_NAME = re.compile(r"^(\d{8})T(\d{6})Z-r(\d{6})\.ts$")
RUNS_DIR = ".runs"  # per-run segment lists and ffmpeg logs, beside the day folders


@dataclass(frozen=True)
class SegmentName:
    """What a segment's file name says: when ffmpeg opened it, and in which run."""

    name: str
    start_ms: int
    run: int

    @property
    def day(self) -> str:
        return self.name[:8]

    def relative_path(self, camera: str) -> str:
        return f"{camera}/{self.day}/{self.name}"


def parse_segment_name(name: str) -> SegmentName | None:
    match = SEGMENT_NAME.match(name)
    if match is None:
        return None
    try:
        opened = datetime.strptime(match[1] + match[2], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return SegmentName(name, int(opened.timestamp() * 1000), int(match[3]))


def day_folder(wall_ms: int) -> str:
    return datetime.fromtimestamp(wall_ms / 1000, UTC).strftime("%Y%m%d")


def ensure_day_folders(camera_dir: Path, wall_ms: int) -> None:
    """Create today's and tomorrow's folders: ffmpeg cannot create them, and fails without."""
    today = datetime.fromtimestamp(wall_ms / 1000, UTC)
    for day in (today, today + timedelta(days=1)):
        folder = camera_dir / day.strftime("%Y%m%d")
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            fsync_directory(camera_dir)


def fsync_file(path: Path) -> None:
    """Make a closed segment durable before the index says it exists (ffmpeg never fsyncs)."""
    _fsync(path, os.O_RDONLY)


def fsync_directory(path: Path) -> None:
    with contextlib.suppress(OSError):
        _fsync(path, os.O_RDONLY | os.O_DIRECTORY)


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def trim_to_whole_packets(path: Path) -> int:
    """Cut a half-written MPEG-TS file back to whole 188-byte packets; returns the new size."""
    size = path.stat().st_size
    whole = size - size % TS_PACKET
    if whole != size:
        os.truncate(path, whole)
    return whole
