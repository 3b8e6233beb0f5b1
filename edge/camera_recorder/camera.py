"""The camera behind a small interface: something that records a stream into segment files.

The real backend is ffmpeg (`edge.camera_recorder.ffmpeg`); tests point it at
test-pattern cameras served by ffmpeg itself (`edge.camera_recorder.testsource`),
a real transport rather than a mock, as pyserial's `loop://` is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from edge.camera_recorder.config import CameraSettings
from edge.camera_recorder.live import LiveOutput


@dataclass(frozen=True)
class RecordingJob:
    """One run of one camera: where its segments, its list and its log go."""

    camera: CameraSettings
    run: int
    segment_s: int
    camera_dir: Path
    list_path: Path
    log_path: Path
    live: LiveOutput | None = None
    """Where the same ffmpeg also writes the camera's live playlist; None: no live view."""

    def segment_name_pattern(self) -> str:
        """strftime pattern of segment files, relative to `camera_dir`.

        UTC day folders keep each directory small and let start-up look only
        at the newest ones; the run number keeps a restart within the same
        second from overwriting the previous run's file.
        """
        return f"%Y%m%d/%Y%m%dT%H%M%SZ-r{self.run:06d}.ts"


@dataclass(frozen=True)
class ClosedSegment:
    """A line of ffmpeg's segment list: a file ffmpeg has finished and closed."""

    name: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Progress:
    """The newest progress ffmpeg reported, and when it last moved (monotonic seconds)."""

    out_time_us: int | None
    advanced_at: float | None


class Recording(Protocol):
    """A running recorder process for one camera."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None:
        """The exit code once the process has ended, else None."""
        ...

    def progress(self) -> Progress: ...

    def closed_segments(self) -> list[ClosedSegment]:
        """Segments closed since the last call, in order."""
        ...

    def stop(self, grace_s: float = 3.0) -> int:
        """Ask it to finish its segment and exit; kill it after `grace_s`. Returns the code."""
        ...

    def log_tail(self, lines: int = 20) -> list[str]:
        """What the process said last, once it was recording (all of it, if it never was)."""
        ...


class CameraBackend(Protocol):
    def start(self, job: RecordingJob) -> Recording: ...

    def snapshot(self, camera: CameraSettings, dest: Path, timeout_s: float) -> str | None:
        """Grab one frame into `dest`; None when it worked, else the reason it did not."""
        ...
