"""One camera's supervisor: keep its ffmpeg recording, notice stalls, restart when the camera is back.

ffmpeg 5.1 has no RTSP reconnect and can block forever on a silent socket,
so the supervisor watches ffmpeg's progress heartbeat: no progress for
`stall_after_s` (at most one segment length by default) means stalled, and
the run is stopped and started again. Once a run has ended, an RTSP camera
is asked (one DESCRIBE, see `probe.py`) every `probe_interval_s`: while it
does not answer no ffmpeg is started, and one is started as soon as it
answers again. The restart backoff only paces an ffmpeg that keeps failing
against a camera that answers. Every interruption opens a gap in the index
with its cause; the next indexed segment closes it.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from edge.camera_recorder.camera import CameraBackend, Recording, RecordingJob
from edge.camera_recorder.config import CameraSettings, RecorderSettings
from edge.camera_recorder.index import FootageIndex, GapCause, Segment
from edge.camera_recorder.ingest import SegmentIngest
from edge.camera_recorder.live import LivePlan
from edge.camera_recorder.probe import CameraAnswer, can_probe, describe
from edge.camera_recorder.segments import RUNS_DIR, day_folder, ensure_day_folders
from spine.clock import Clock

log = logging.getLogger(__name__)

TICK_S = 0.25
HOUR_S = 3600.0
PROBE_TIMEOUT_S = 2.0  # a camera on the hall's LAN answers a DESCRIBE in milliseconds
SIGNALLED = 255  # ffmpeg's exit code after it caught SIGTERM or SIGINT
WRITE_FAILURE_SIGNS = (
    "no space left",
    "read-only file system",
    "permission denied",
    "input/output error",
    "failed to open segment",
    "disk quota",
)


class CameraState(StrEnum):
    STARTING = "starting"
    RECORDING = "recording"
    STALLED = "stalled"
    OFFLINE = "offline"
    WRITE_FAILURE = "write_failure"
    STOPPED = "stopped"


STATE_OF_CAUSE = {
    GapCause.CAMERA_OFFLINE: CameraState.OFFLINE,
    GapCause.STALLED: CameraState.STALLED,
    GapCause.WRITE_FAILURE: CameraState.WRITE_FAILURE,
    GapCause.RECORDER_DOWN: CameraState.STOPPED,
}


@dataclass
class CameraStatus:
    """What health reports and diagnostics say about one camera."""

    camera: str
    state: CameraState = CameraState.STARTING
    since_ms: int = 0
    detail: str | None = None
    pid: int | None = None
    run: int | None = None
    restarts: int = 0
    segments: int = 0
    last_segment_end_ms: int | None = None
    restart_times: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))

    def restarts_last_hour(self) -> int:
        cutoff = time.monotonic() - HOUR_S
        while self.restart_times and self.restart_times[0] < cutoff:
            self.restart_times.popleft()
        return len(self.restart_times)


@dataclass(frozen=True)
class RunOutcome:
    cause: GapCause
    detail: str
    state: CameraState | None = None
    """The camera's state meanwhile, when not the one its cause implies."""

    @property
    def camera_state(self) -> CameraState:
        return self.state or STATE_OF_CAUSE[self.cause]


StateListener = Callable[[CameraStatus], None]
CameraProbe = Callable[[CameraSettings, float], CameraAnswer]


class CameraSupervisor:
    """Runs in its own thread: `run(stop)` until `stop` is set."""

    def __init__(
        self,
        camera: CameraSettings,
        settings: RecorderSettings,
        storage_dir: Path,
        index: FootageIndex,
        backend: CameraBackend,
        clock: Clock,
        on_state: StateListener | None = None,
        probe: CameraProbe = describe,
        live: LivePlan | None = None,
    ) -> None:
        self.camera = camera
        self.live = live
        self.settings = settings
        self.storage_dir = storage_dir
        self.camera_dir = storage_dir / camera.id
        self.index = index
        self.backend = backend
        self.clock = clock
        self.on_state = on_state or (lambda status: None)
        self.probe = probe
        self.ingest = SegmentIngest(index.segments, storage_dir, camera.id, clock, settings.segment_s)
        self.status = CameraStatus(camera.id, since_ms=clock.wall_ms())
        self.current: Recording | None = None
        self._ready_day: str | None = None
        self._run_started_ms: int | None = None

    # --- the loop -------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                produced, outcome = self._one_run(stop)
            except Exception as exc:  # the supervisor must outlive anything one run does
                log.exception("%s: recording run failed", self.camera.id)
                produced, outcome = False, RunOutcome(GapCause.WRITE_FAILURE, f"recorder error: {exc}")
                self._safely_interrupted(outcome)
            if stop.is_set():
                break
            self.index.cameras.count_restart(self.camera.id)
            self.status.restarts += 1
            self.status.restart_times.append(time.monotonic())
            failures = 0 if produced else failures + 1
            delay = min(
                self.settings.restart_max_s,
                self.settings.restart_min_s * (2 ** max(0, failures - 1)),
            )
            delay *= random.uniform(0.8, 1.2)  # cameras that fell together do not restart together
            log.info("%s: run ended (%s); next ffmpeg in %.1f s at the earliest",
                     self.camera.id, outcome.detail, delay)
            self._await_camera(stop, delay)
        self._set_state(CameraState.STOPPED, "recorder stopped")

    def _await_camera(self, stop: threading.Event, backoff_s: float) -> None:
        """Wait until the next ffmpeg may start: the backoff is over and the camera answers.

        A camera seen down is asked every `probe_interval_s` and ffmpeg starts
        as soon as it answers, however long it was gone; while it is down no
        ffmpeg is started at all. Inputs that cannot be asked wait the backoff.
        """
        if not can_probe(self.camera):
            stop.wait(backoff_s)
            return
        deadline = time.monotonic() + backoff_s
        timeout_s = min(PROBE_TIMEOUT_S, self.camera.read_timeout_s)
        seen_down = False
        while not stop.is_set():
            answer = self.probe(self.camera, timeout_s)
            if not answer.up:
                seen_down = True
                self._camera_down(answer)
            elif seen_down:
                log.info("%s: the camera is back (%s)", self.camera.id, answer.detail)
                return
            elif time.monotonic() >= deadline:
                return
            wait_s = self.settings.probe_interval_s
            if not seen_down:
                wait_s = min(wait_s, max(0.0, deadline - time.monotonic()))
            stop.wait(wait_s)

    def _camera_down(self, answer: CameraAnswer) -> None:
        """The camera does not answer: from now on the missing footage is its doing."""
        if self.status.state is not CameraState.OFFLINE:
            self.index.gaps.begin(
                self.camera.id, GapCause.CAMERA_OFFLINE.value, self.clock.wall_ms(), answer.detail
            )
        self._set_state(CameraState.OFFLINE, answer.detail)

    def _one_run(self, stop: threading.Event) -> tuple[bool, RunOutcome]:
        run = self.index.cameras.next_run(self.camera.id)
        runs_dir = self.camera_dir / RUNS_DIR
        runs_dir.mkdir(parents=True, exist_ok=True)
        job = RecordingJob(
            camera=self.camera,
            run=run,
            segment_s=self.settings.segment_s,
            camera_dir=self.camera_dir,
            list_path=runs_dir / f"{run:06d}.csv",
            log_path=runs_dir / "ffmpeg.log",
            live=self.live.for_run(self.camera.id, run) if self.live is not None else None,
        )
        started_ms = self.clock.wall_ms()
        self._run_started_ms = started_ms
        self._ensure_folders(started_ms, force=True)
        self.status.run = run
        try:
            recording = self.backend.start(job)
        except OSError as exc:
            outcome = RunOutcome(GapCause.WRITE_FAILURE, f"cannot start ffmpeg: {exc}")
            self._interrupted(outcome, produced=False, started_ms=started_ms)
            return False, outcome
        self.current = recording
        self.status.pid = recording.pid
        segments_before = self.status.segments
        try:
            outcome = self._watch(recording, stop)
        finally:
            recording.stop()
            self.current = None
            self.status.pid = None
            self._take_closed(recording)
            self._take_leftovers(job, started_ms)
            job.list_path.unlink(missing_ok=True)
        produced = self.status.segments > segments_before
        self._interrupted(outcome, produced=produced, started_ms=started_ms)
        return produced, outcome

    def _watch(self, recording: Recording, stop: threading.Event) -> RunOutcome:
        started = time.monotonic()
        stall_after = self.settings.stall_threshold_s()
        while True:
            self._take_closed(recording)
            if stop.is_set():
                return RunOutcome(GapCause.RECORDER_DOWN, "recorder stopped")
            code = recording.poll()
            progress = recording.progress()
            if code is not None:
                self._take_closed(recording)
                return self._classify_exit(code, recording, progress.advanced_at is not None)
            now = time.monotonic()
            stalled: str | None = None
            if progress.advanced_at is None:
                if now - started > self.settings.connect_timeout_s:
                    stalled = f"no data within {self.settings.connect_timeout_s:g} s of connecting"
            elif now - progress.advanced_at > stall_after:
                stalled = f"no data for {now - progress.advanced_at:.1f} s"
            if stalled is not None:
                # Said at once: stopping a hung ffmpeg may take its grace period.
                self._set_state(CameraState.STALLED, stalled)
                return RunOutcome(GapCause.STALLED, stalled)
            if progress.advanced_at is not None and self.status.state is not CameraState.RECORDING:
                self._set_state(CameraState.RECORDING, None)
            self._ensure_folders(self.clock.wall_ms())
            stop.wait(TICK_S)

    def _classify_exit(self, code: int, recording: Recording, had_data: bool) -> RunOutcome:
        """Why ffmpeg ended on its own: the disk, a signal from someone else, or the camera."""
        tail = recording.log_tail(4)
        text = " | ".join(line.replace(self.camera.input_url(), self.camera.safe_url()) for line in tail)
        lowered = text.lower()
        if any(sign in lowered for sign in WRITE_FAILURE_SIGNS):
            return RunOutcome(GapCause.WRITE_FAILURE, f"ffmpeg exited {code}: {text}"[:500])
        killer = _signal_name(code)
        if killer is not None:
            # The recorder signals its ffmpeg only after deciding to stop it, so this
            # came from elsewhere (the OOM killer, a technician): the recorder's loss,
            # not the camera's, and the camera is not offline for it.
            detail = f"ffmpeg was killed by {killer}, not by the recorder"
            return RunOutcome(GapCause.RECORDER_DOWN, detail, CameraState.STARTING)
        what = "stream ended" if had_data else "could not connect"
        detail = f"{what} (ffmpeg exited {code})" + (f": {text}" if text else "")
        return RunOutcome(GapCause.CAMERA_OFFLINE, detail[:500])

    # --- segments ---------------------------------------------------------------

    def _take_closed(self, recording: Recording) -> None:
        for closed in recording.closed_segments():
            segment = self.ingest.closed(
                closed, observed_ms=self.clock.wall_ms(), not_before_ms=self._run_started_ms
            )
            if segment is not None:
                self._indexed(segment)

    def _take_leftovers(self, job: RecordingJob, started_ms: int) -> None:
        """Index the file a killed ffmpeg left open: only this run's files, only its days."""
        suffix = f"-r{job.run:06d}.ts"
        days = {day_folder(started_ms), day_folder(self.clock.wall_ms())}
        for day in sorted(days):
            folder = self.camera_dir / day
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob(f"*{suffix}")):
                segment = self.ingest.leftover(path)
                if segment is not None:
                    self._indexed(segment)

    def _indexed(self, segment: Segment) -> None:
        self.status.segments += 1
        self.status.last_segment_end_ms = segment.end_ms
        if self.status.state is not CameraState.RECORDING and not segment.partial:
            self._set_state(CameraState.RECORDING, None)

    # --- gaps and state ------------------------------------------------------------

    def _interrupted(self, outcome: RunOutcome, *, produced: bool, started_ms: int) -> None:
        """Open (or continue) the camera's gap, starting where its footage stopped."""
        # A run that recorded stopped where its last segment ends; a run that
        # never recorded tells us about the time since it was started.
        last = self.index.segments.last(self.camera.id) if produced else None
        at = last.end_ms if last is not None else started_ms
        self.index.gaps.begin(self.camera.id, outcome.cause.value, at, outcome.detail)
        self._set_state(outcome.camera_state, outcome.detail)

    def _safely_interrupted(self, outcome: RunOutcome) -> None:
        try:
            self._interrupted(outcome, produced=False, started_ms=self.clock.wall_ms())
        except Exception:
            log.exception("%s: could not record the interruption", self.camera.id)

    def _set_state(self, state: CameraState, detail: str | None) -> None:
        if state is self.status.state and detail == self.status.detail:
            return
        changed = state is not self.status.state
        self.status.state = state
        self.status.detail = detail
        now = self.clock.wall_ms()
        if changed:
            self.status.since_ms = now
            if state is CameraState.RECORDING:
                log.info("%s: recording", self.camera.id)
            elif state is CameraState.STOPPED:  # asked to stop (the recorder stops): nothing wrong
                log.info("%s: %s (%s)", self.camera.id, state.value, detail)
            else:
                log.warning("%s: %s (%s)", self.camera.id, state.value, detail)
        self.index.cameras.set_state(self.camera.id, state.value, self.status.since_ms, detail)
        if changed:
            self.on_state(self.status)

    def _ensure_folders(self, wall_ms: int, *, force: bool = False) -> None:
        day = day_folder(wall_ms + 3_600_000)  # an hour ahead: tomorrow exists before midnight
        if force or day != self._ready_day:
            try:
                ensure_day_folders(self.camera_dir, wall_ms)
            except OSError as exc:  # ffmpeg will fail to open its segment: a write failure
                log.error("%s: cannot create day folders: %s", self.camera.id, exc)
                return
            self._ready_day = day


def _signal_name(code: int) -> str | None:
    """The signal that ended ffmpeg, if one did (a negative code, or ffmpeg's own 255)."""
    if code == SIGNALLED:
        return "SIGTERM or SIGINT"
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return None
