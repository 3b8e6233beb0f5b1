"""The rows of the footage index as values: segments, gaps, holds, exports, camera totals.

Field names are the column names, so `columns(Model)` is the SELECT list that
`Model(*row)` reads back.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from edge.camera_recorder.retention import PruneCause, SegmentRef

EXPORT_GUARD_SOURCE = "export"
"""The source of the hold an export places on its own range while it works."""


def columns(model: type[Any], *, prefix: str = "") -> str:
    """The SELECT list of a model's columns, in field order."""
    return ", ".join(prefix + field.name for field in fields(model))


class GapCause(StrEnum):
    """Why there is no footage: "never recorded" and "deleted" are never confused."""

    CAMERA_OFFLINE = "camera_offline"  # no connection, or the stream ended
    STALLED = "stalled"  # connected but no data (camera or ffmpeg hung)
    RECORDER_DOWN = "recorder_down"  # the recorder was not running (crash, power cut, stop)
    WRITE_FAILURE = "write_failure"  # ffmpeg could not write (disk full, I/O error)
    FILE_MISSING = "file_missing"  # indexed, then deleted behind the recorder's back
    PRUNED_AGE = PruneCause.AGE.value
    PRUNED_BUDGET = PruneCause.BUDGET.value


@dataclass(frozen=True)
class Segment:
    id: int
    camera: str
    start_ms: int
    end_ms: int
    path: str
    bytes: int
    run: int
    held: bool
    partial: bool

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Segment:
        # SQLite has no booleans: the flags come back as 0 and 1.
        id, camera, start_ms, end_ms, path, size, run, held, partial = row
        return cls(id, camera, start_ms, end_ms, path, size, run, bool(held), bool(partial))

    def ref(self) -> SegmentRef:
        return SegmentRef(self.id, self.camera, self.start_ms, self.end_ms, self.bytes)


@dataclass(frozen=True)
class NewSegment:
    camera: str
    start_ms: int
    end_ms: int
    path: str
    bytes: int
    run: int
    partial: bool = False


@dataclass(frozen=True)
class Gap:
    id: int
    camera: str
    start_ms: int
    end_ms: int | None
    cause: str
    detail: str | None


@dataclass(frozen=True)
class DeletedFootage:
    """A stretch of a camera's footage the recorder deleted (pruned) or found gone."""

    camera: str
    start_ms: int
    end_ms: int
    cause: str


@dataclass(frozen=True)
class HoldRecord:
    """Footage of one camera and time range kept past retention (not central's complaint hold)."""

    id: str
    camera: str
    start_ms: int
    end_ms: int
    until_ms: int
    who: str
    why: str
    placed_ms: int
    source: str
    released_ms: int | None = None
    released_by: str | None = None
    release_why: str | None = None

    @property
    def state(self) -> str:
        if self.released_ms is None:
            return "active"
        return "expired" if self.released_by == "expiry" else "released"

    @property
    def guards_an_export(self) -> bool:
        """The recorder's own hold during an export: never listed, never reported."""
        return self.source == EXPORT_GUARD_SOURCE


@dataclass(frozen=True)
class ExportRecord:
    id: str
    camera: str
    start_ms: int
    end_ms: int
    who: str
    why: str
    created_ms: int
    clip_path: str
    clip_bytes: int
    clip_sha256: str
    manifest: str
    manifest_sha256: str


@dataclass(frozen=True)
class CameraTotals:
    id: str
    runs: int
    restarts: int
    state: str
    state_since: int | None
    detail: str | None
    bytes: int
    segments: int
    held_bytes: int
