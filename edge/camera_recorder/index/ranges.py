"""Finding a camera's segments by time range, the one way every part does it."""

from __future__ import annotations

MAX_SEGMENT_MS = 3_600_000  # segment_s is at most an hour: bounds time-range lookups

OVERLAPPING = "camera = ? AND start_ms > ? AND start_ms < ? AND end_ms > ?"
"""Segments of a camera overlapping a range; with `overlapping()` as its parameters.

Bounding `start_ms` from below by the longest segment lets `segments_by_camera`
answer with a range scan instead of reading the camera's whole history.
"""


def overlapping(camera: str, start_ms: int, end_ms: int) -> tuple[str, int, int, int]:
    """The parameters of `OVERLAPPING` for [start_ms, end_ms)."""
    return camera, start_ms - MAX_SEGMENT_MS, end_ms, start_ms
