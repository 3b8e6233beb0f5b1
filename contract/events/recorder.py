"""Event types of the recorder domain.

Evidence (what footage exists, what is missing and why, holds, exports,
alarms, camera state changes) is essential: never dropped for space. The
periodic health report is routine telemetry. Times are device wall-clock ms.
Events about a thing that can change (a gap extended by later pruning, a hold
released) carry its stable id; a later event for the same id supersedes.
"""

from __future__ import annotations

from pydantic import Field

from contract.authority import About
from contract.kinds import Author
from contract.registry import Body, event_type

CAMERA = r"^[a-z0-9][a-z0-9-]{0,62}$"


@event_type("recorder.camera_state", authors=Author.RECORDER, about=About.ITSELF, essential=True)
class CameraStateChanged(Body):
    """A camera started or stopped recording: never a silent dead camera."""

    camera: str = Field(pattern=CAMERA)
    state: str = Field(pattern="^(starting|recording|stalled|offline|write_failure|stopped)$")
    since: int
    detail: str | None = None
    restarts: int = Field(ge=0, description="restarts of this camera's ffmpeg since start-up")


@event_type("recorder.gap", authors=Author.RECORDER, about=About.ITSELF, essential=True)
class FootageGap(Body):
    """A time range of a camera with no footage, and why (never recorded vs deleted)."""

    gap_id: int = Field(ge=1, description="stable per device; a later event for it supersedes")
    camera: str = Field(pattern=CAMERA)
    start: int
    end: int
    cause: str = Field(
        pattern="^(camera_offline|stalled|recorder_down|write_failure|file_missing|"
        "pruned_age|pruned_budget)$"
    )
    detail: str | None = Field(None, max_length=500)


@event_type("recorder.coverage", authors=Author.RECORDER, about=About.ITSELF, essential=True)
class FootageCoverage(Body):
    """Time ranges recorded since the previous report, so central knows what footage exists."""

    camera: str = Field(pattern=CAMERA)
    ranges: list[tuple[int, int]] = Field(description="[start, end] ms, merged, in time order")
    segments: int = Field(ge=0)
    bytes: int = Field(ge=0)
    last_segment_id: int = Field(ge=0, description="device-local; orders coverage reports")


@event_type("recorder.hold", authors=Author.RECORDER, about=About.ITSELF, essential=True)
class FootageHold(Body):
    """A hold placed, released or expired: footage kept for a complaint past retention."""

    hold_id: str = Field(min_length=1, max_length=120)
    camera: str = Field(pattern=CAMERA)
    start: int
    end: int
    until: int
    who: str = Field(max_length=200)
    why: str = Field(max_length=1000)
    state: str = Field(pattern="^(active|released|expired)$")
    placed_at: int
    source: str = Field(max_length=40)
    released_at: int | None = None
    released_by: str | None = Field(None, max_length=200)
    release_why: str | None = Field(None, max_length=1000)
    held_segments: int = Field(0, ge=0)
    held_bytes: int = Field(0, ge=0)


@event_type("recorder.export", authors=Author.RECORDER, about=About.ITSELF, essential=True)
class ClipExported(Body):
    """A clip exported as evidence, with the hashes that later prove it unchanged."""

    export_id: str = Field(min_length=1, max_length=120)
    camera: str = Field(pattern=CAMERA)
    start: int
    end: int
    who: str = Field(max_length=200)
    why: str = Field(max_length=1000)
    created_at: int
    clip_bytes: int = Field(ge=0)
    clip_sha256: str = Field(pattern="^[0-9a-f]{64}$")
    manifest_sha256: str = Field(pattern="^[0-9a-f]{64}$")


@event_type("recorder.alarm", authors=Author.RECORDER, about=About.ITSELF, essential=True)
class RecorderAlarm(Body):
    """A condition that needs a person: raised once, cleared once."""

    code: str = Field(
        pattern="^(budget_short|holds_over_budget|holds_block_pruning|disk_low|"
        "clock_behind|clock_jump|write_failure)$"
    )
    state: str = Field(pattern="^(raised|cleared)$")
    message: str = Field(max_length=1000)
    days_possible: float | None = Field(
        None, description="days of footage the budget holds at the measured bitrate"
    )
    days_wanted: float | None = None


@event_type("recorder.reconciled", authors=Author.RECORDER, about=About.ITSELF, essential=True)
class RecorderReconciled(Body):
    """What start-up found when it checked the index against the disk."""

    unlinked: int = Field(ge=0, description="files a pruning interrupted by the crash deleted")
    listed: int = Field(ge=0, description="closed segments indexed from ffmpeg's lists")
    leftovers: int = Field(ge=0, description="half-written segments kept")
    missing: int = Field(ge=0, description="indexed segments whose files were gone")
    seconds: float = Field(ge=0)


class CameraHealth(Body):
    camera: str = Field(pattern=CAMERA)
    state: str
    since: int
    bitrate_bps: int | None = Field(None, description="measured over the newest segments")
    restarts_1h: int = Field(ge=0, description="reconnects in the last hour")
    restarts: int = Field(ge=0, description="reconnects since start-up")
    gaps_24h: int = Field(ge=0, description="gaps that began in the last 24 h (pruning excluded)")
    last_segment_end: int | None = None
    days_held: float = Field(ge=0, description="age of the oldest footage kept")
    bytes: int = Field(ge=0)
    segments: int = Field(ge=0)
    held_bytes: int = Field(ge=0)


class DiskHealth(Body):
    used_bytes: int = Field(ge=0, description="footage on disk, held included")
    allowed_bytes: int = Field(ge=0, description="the budget, or less when the disk has less room")
    held_bytes: int = Field(ge=0)
    fs_free_bytes: int = Field(ge=0)
    fs_total_bytes: int = Field(ge=0)
    segments: int = Field(ge=0)
    days_possible: float | None = None


@event_type("recorder.health", authors=Author.RECORDER, about=About.ITSELF, essential=False)
class RecorderHealth(Body):
    """Routine health: per camera and for the disk. May be dropped when the outbox is full."""

    cameras: list[CameraHealth]
    disk: DiskHealth
    alarms: list[str] = Field(default_factory=list)
