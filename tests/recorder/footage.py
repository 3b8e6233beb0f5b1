"""Synthetic footage for retention tests: real files and index rows, no ffmpeg."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from edge.camera_recorder.index import FootageIndex, NewSegment, Segment

MINUTE = 60_000


def segment_name(start_ms: int, run: int = 1) -> str:
    opened = datetime.fromtimestamp(start_ms / 1000, UTC)
    return opened.strftime("%Y%m%dT%H%M%SZ") + f"-r{run:06d}.ts"


def write_segment(
    index: FootageIndex,
    storage: Path,
    camera: str,
    start_ms: int,
    *,
    length_ms: int = MINUTE,
    size: int = 1000,
    now_ms: int | None = None,
) -> Segment:
    name = segment_name(start_ms)
    relative = f"{camera}/{name[:8]}/{name}"
    path = storage / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x47" + b"\0" * (size - 1))
    segment = index.segments.add(
        NewSegment(camera, start_ms, start_ms + length_ms, relative, size, 1),
        now_ms if now_ms is not None else start_ms + length_ms,
    )
    assert segment is not None
    return segment


def write_run(
    index: FootageIndex, storage: Path, camera: str, start_ms: int, count: int, **kwargs: int
) -> list[Segment]:
    length = kwargs.get("length_ms", MINUTE)
    return [
        write_segment(index, storage, camera, start_ms + n * length, **kwargs) for n in range(count)
    ]
