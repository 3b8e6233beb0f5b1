"""The recorder agent: supervisors per camera, retention, holds, reporting, all on one index.

Recording, retention, holds and exports never wait for the network: events
go to the agent's outbox, which forwards them whenever the gateway is there.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from edge.camera_recorder.camera import CameraBackend
from edge.camera_recorder.config import RecorderConfig
from edge.camera_recorder.ffmpeg import FfmpegBackend
from edge.camera_recorder.holds import (
    HoldRequest,
    PlacedHold,
    ReleaseRequest,
    expire_holds,
    place_holds,
    release_hold,
)
from edge.camera_recorder.index import (
    CONTIGUOUS_MS,
    EXPORTS,
    GAPS,
    HOLDS,
    ExportRecord,
    FootageIndex,
    Gap,
    HoldRecord,
    Reportable,
)
from edge.camera_recorder.live import LivePlan
from edge.camera_recorder.reconcile import (
    ALIVE_KEY,
    ReconcileReport,
    audit_step,
    finish_unlinks,
    reconcile,
)
from edge.camera_recorder.retention import (
    DAY_MS,
    CapacityForecast,
    allowed_bytes,
    forecast_capacity,
    plan_prune,
)
from edge.camera_recorder.supervisor import CameraStatus, CameraSupervisor
from spine.clock import Clock, SystemClock
from spine.outbox import OutboxFull

log = logging.getLogger(__name__)

T = TypeVar("T")

COVERAGE_CURSOR_KEY = "coverage_cursor"
COVERAGE_BATCH = 1000  # segments per report: keeps an event well under the 64 KB limit
BITRATE_SAMPLE = 20  # newest segments per camera that measure its bitrate
ALIVE_EVERY_S = 10.0
REPORT_EVERY_S = 1.0
CLOCK_STEP_MS = 86_400_000  # a forward jump of the wall clock larger than this pauses age pruning


class EventSink(Protocol):
    """Where the recorder's events go: the agent's outbox (or a list, in tests)."""

    def record(self, type: str, body: Mapping[str, Any] | BaseModel) -> Any: ...


DiskProbe = Callable[[], tuple[int, int]]
"""Returns (free bytes, total bytes) of the disk holding the footage."""


def statvfs_probe(path: str) -> DiskProbe:
    def probe() -> tuple[int, int]:
        stats = os.statvfs(path)
        return stats.f_bavail * stats.f_frsize, stats.f_blocks * stats.f_frsize

    return probe


@dataclass(frozen=True)
class PruneResult:
    pruned: int
    freed_bytes: int
    allowed_bytes: int
    used_bytes: int
    shortfall_bytes: int
    forecast: CapacityForecast


class Recorder:
    """One hall recorder: `start()`, `stop()`, and what the commands need in between."""

    def __init__(
        self,
        config: RecorderConfig,
        *,
        events: EventSink,
        clock: Clock | None = None,
        backend: CameraBackend | None = None,
        disk: DiskProbe | None = None,
        index: FootageIndex | None = None,
    ) -> None:
        self.config = config
        self.settings = config.recorder
        self.events = events
        self.clock = clock or SystemClock()
        self.backend = backend or FfmpegBackend(self.settings.ffmpeg)
        self.storage_dir = config.storage_dir
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        self.index = index or FootageIndex(config.index_path)
        self.disk = disk or statvfs_probe(str(self.storage_dir))
        video = config.video
        self.live = (
            LivePlan(config.live_dir, video.live_segment_s, video.live_segments)
            if video is not None and config.live_dir is not None else None
        )
        self.supervisors = {
            camera.id: CameraSupervisor(
                camera,
                self.settings,
                self.storage_dir,
                self.index,
                self.backend,
                self.clock,
                on_state=self._camera_state_changed,
                live=self.live,
            )
            for camera in config.cameras
        }
        self._stop = threading.Event()
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._last_forecast: CapacityForecast | None = None
        # wall - monotonic at start: if it grows by more than CLOCK_STEP_MS while we run,
        # the wall clock jumped forward, and age-based deletion would delete evidence.
        self._clock_offset = self.clock.wall_ms() - self.clock.mono_ms()
        self.reconciled: ReconcileReport | None = None

    # --- life cycle --------------------------------------------------------------

    def start(self, *, record: bool = True, background: bool = True) -> None:
        """Reconcile, then record every camera and run retention in the background.

        `record=False` starts no camera; `background=False` leaves retention
        and reporting to explicit calls (tests that drive the clock).
        """
        self.reconciled = reconcile(
            self.index,
            self.storage_dir,
            [c.id for c in self.config.cameras],
            self.clock,
            segment_s=self.settings.segment_s,
        )
        report = self.reconciled
        log.info(
            "reconciled in %.3f s: %d unlinked, %d listed, %d half-written kept, %d missing",
            report.seconds, report.unlinked, report.listed, report.leftovers, report.missing,
        )
        self._emit(
            "recorder.reconciled",
            {
                "unlinked": report.unlinked,
                "listed": report.listed,
                "leftovers": report.leftovers,
                "missing": report.missing,
                "seconds": round(report.seconds, 3),
            },
        )
        if record:
            for camera_id, supervisor in self.supervisors.items():
                thread = threading.Thread(
                    target=supervisor.run, args=(self._stop,), name=f"camera-{camera_id}"
                )
                thread.start()
                self._threads.append(thread)
        if background:
            housekeeping = threading.Thread(
                target=self._housekeeping, name="recorder-housekeeping"
            )
            housekeeping.start()
            self._threads.append(housekeeping)

    def stop(self) -> None:
        """Close every open segment, mark the stop as a gap, report, close the index."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads.clear()
        self.report_pending()
        self.index.meta.set(ALIVE_KEY, str(self.clock.wall_ms()))
        self.index.close()

    def _housekeeping(self) -> None:
        due: dict[str, float] = {}

        def every(name: str, period: float) -> bool:
            now = time.monotonic()
            if now >= due.get(name, 0.0):
                due[name] = now + period
                return True
            return False

        while not self._stop.is_set():
            try:
                if every("prune", self.settings.prune_interval_s):
                    while self.prune_once().pruned >= self.settings.prune_batch:
                        if self._stop.is_set():
                            break
                if every("alive", ALIVE_EVERY_S):
                    self.index.meta.set(ALIVE_KEY, str(self.clock.wall_ms()))
                if every("report", REPORT_EVERY_S):
                    self.report_pending()
                if every("coverage", self.settings.coverage_interval_s):
                    self.report_coverage()
                if every("health", self.settings.health_interval_s):
                    self.report_health()
                if self.settings.audit_per_minute and every("audit", 60.0):
                    audit_step(self.index, self.storage_dir, self.settings.audit_per_minute)
            except Exception:  # one bad pass must not end retention for good
                log.exception("recorder housekeeping failed; retrying")
            self._stop.wait(0.5)

    # --- retention --------------------------------------------------------------------

    def retention_days(self) -> dict[str, float]:
        days = {row.id: self.settings.retention_days for row in self.index.cameras.all()}
        days.update({c.id: self.config.retention_days_of(c) for c in self.config.cameras})
        return days

    def prune_once(self) -> PruneResult:
        """One retention pass: expire holds, delete by age, then by budget; raise alarms."""
        now = self.clock.wall_ms()
        expire_holds(self.index.holds, now)
        used, _, held = self.index.cameras.totals()
        free, _total = self.disk()
        allowed = allowed_bytes(self.settings.budget_bytes, used, free, self.settings.min_free_bytes)
        days = self.retention_days()
        stepped_ms = now - self.clock.mono_ms() - self._clock_offset
        age_trusted = stepped_ms <= CLOCK_STEP_MS
        self._alarm(
            "clock_jump",
            not age_trusted,
            f"the wall clock jumped {stepped_ms / DAY_MS:.1f} days forward while recording; "
            "deletion by age is paused (the disk budget still applies) until the recorder "
            "is restarted with a correct clock",
        )
        plan = plan_prune(
            now_ms=now,
            retention_days=days,
            unheld_by_camera=(
                {camera: self.index.segments.unheld(camera) for camera in days} if age_trusted else {}
            ),
            unheld_oldest=self.index.segments.unheld(),
            used_bytes=used,
            allowed=allowed,
            limit=self.settings.prune_batch,
        )
        if plan.victims:
            self.index.segments.prune(plan.victims)
            finish_unlinks(self.index.unlinks, self.storage_dir, now)
            log.info("retention pruned %d segment(s), %d bytes", len(plan.victims), plan.freed_bytes)
        forecast = forecast_capacity(
            bytes_per_day=self.bytes_per_day(),
            retention_days=days,
            allowed=allowed,
            held_bytes=held,
        )
        self._last_forecast = forecast
        self._judge(plan.shortfall_bytes, forecast, days, free)
        return PruneResult(
            len(plan.victims), plan.freed_bytes, allowed, used, plan.shortfall_bytes, forecast
        )

    def bytes_per_day(self) -> dict[str, float]:
        """Each camera's measured rate, over its newest segments (cameras with too few: none)."""
        rates: dict[str, float] = {}
        for camera in self.retention_days():
            size, duration, count = self.index.segments.recent_rate(camera, BITRATE_SAMPLE)
            if count >= 3 and duration > 0:
                rates[camera] = size / duration * DAY_MS
        return rates

    def _judge(
        self, shortfall: int, forecast: CapacityForecast, days: Mapping[str, float], free: int
    ) -> None:
        wanted = max(days.values(), default=self.settings.retention_days)
        possible = forecast.days_possible
        self._alarm(
            "budget_short",
            forecast.short and possible is not None,
            f"the budget holds about {possible or 0:.1f} days at the measured bitrate; "
            f"retention wants {wanted:g}",
            days_possible=possible,
            days_wanted=wanted,
        )
        self._alarm(
            "holds_over_budget",
            forecast.holds_over_budget,
            f"held footage ({forecast.held_bytes} bytes) exceeds the budget "
            f"({forecast.allowed_bytes} bytes); release holds or add disk",
        )
        self._alarm(
            "holds_block_pruning",
            shortfall > 0,
            f"{shortfall} bytes over budget and only held footage is left to delete; "
            "held footage is kept",
        )
        self._alarm(
            "disk_low",
            free < self.settings.min_free_bytes,
            f"{free} bytes free on the footage disk, below min_free_bytes "
            f"({self.settings.min_free_bytes})",
        )
        newest = max(
            (s.last_segment_end_ms or 0 for s in self.statuses().values()), default=0
        )
        now = self.clock.wall_ms()
        self._alarm(
            "clock_behind",
            newest - now > 5 * 60_000,
            "the wall clock is behind the newest footage: is NTP reachable? Footage is being "
            "filed under the wrong time",
        )

    def _alarm(self, code: str, active: bool, message: str, **extra: Any) -> None:
        now = self.clock.wall_ms()
        if active:
            if self.index.alarms.set(code, now, message):
                log.warning("ALARM %s: %s", code, message)
                self._emit(
                    "recorder.alarm", {"code": code, "state": "raised", "message": message, **extra}
                )
        elif self.index.alarms.clear(code):
            log.info("alarm %s cleared", code)
            self._emit("recorder.alarm", {"code": code, "state": "cleared", "message": message})

    # --- holds ------------------------------------------------------------------------

    def place_hold(self, request: HoldRequest, *, source: str) -> list[PlacedHold]:
        placed = place_holds(
            self.index, self.config, request, now_ms=self.clock.wall_ms(), source=source
        )
        self.report_pending()
        return placed

    def release_hold(self, request: ReleaseRequest) -> list[HoldRecord]:
        released = release_hold(self.index.holds, request, now_ms=self.clock.wall_ms())
        self.report_pending()
        return released

    # --- reporting ----------------------------------------------------------------------

    def report_pending(self) -> None:
        """Send what the index holds and central has not heard: gaps, holds, exports.

        Rows written by other processes (the `hall recorder hold` and `export`
        commands) are reported here too, so only this process writes the outbox.
        """
        if not self._report(GAPS, "recorder.gap", _gap_body):
            return
        if not self._report(HOLDS, "recorder.hold", self._hold_body):
            return
        self._report(EXPORTS, "recorder.export", _export_body)

    def _report(
        self, source: Reportable[T], type: str, body: Callable[[T], Mapping[str, Any]]
    ) -> bool:
        """Send what is due of one kind; False when the outbox is full (the rest waits)."""
        for due in self.index.reports.pending(source):
            if not self._emit(type, body(due.item)):
                return False
            self.index.reports.sent(due)
        return True

    def _hold_body(self, hold: HoldRecord) -> dict[str, Any]:
        segments, size = self.index.holds.held_in(hold)
        return _hold_body(hold, segments, size)

    def report_coverage(self) -> None:
        """Report the time ranges recorded since the last report, merged per camera."""
        cursor = int(self.index.meta.get(COVERAGE_CURSOR_KEY) or 0)
        while True:
            segments = self.index.segments.after_id(cursor, COVERAGE_BATCH)
            if not segments:
                return
            by_camera: dict[str, list[Any]] = {}
            for segment in segments:
                by_camera.setdefault(segment.camera, []).append(segment)
            for camera, items in by_camera.items():
                items.sort(key=lambda s: s.start_ms)
                ranges: list[list[int]] = []
                for s in items:
                    if ranges and s.start_ms - ranges[-1][1] <= CONTIGUOUS_MS:
                        ranges[-1][1] = max(ranges[-1][1], s.end_ms)
                    else:
                        ranges.append([s.start_ms, s.end_ms])
                if not self._emit(
                    "recorder.coverage",
                    {
                        "camera": camera,
                        "ranges": ranges,
                        "segments": len(items),
                        "bytes": sum(s.bytes for s in items),
                        "last_segment_id": max(s.id for s in items),
                    },
                ):
                    return
            cursor = segments[-1].id
            self.index.meta.set(COVERAGE_CURSOR_KEY, str(cursor))

    def _emit(self, type: str, body: Mapping[str, Any]) -> bool:
        """Record an event; False when the outbox is full (the caller retries later).

        An event that can never be recorded (too large, invalid) is logged and
        skipped rather than retried forever, so it cannot block every later one.
        """
        try:
            self.events.record(type, body)
        except OutboxFull:
            log.error("outbox full: %s not recorded yet; will retry", type)
            return False
        except (ValueError, ValidationError) as exc:
            log.error("%s event refused, skipped: %s", type, exc)
        return True

    def _camera_state_changed(self, status: CameraStatus) -> None:
        self._emit(
            "recorder.camera_state",
            {
                "camera": status.camera,
                "state": status.state.value,
                "since": status.since_ms,
                "detail": (status.detail or None) and status.detail[:500],
                "restarts": status.restarts,
            },
        )

    # --- health and diagnostics ----------------------------------------------------------

    def statuses(self) -> dict[str, CameraStatus]:
        return {camera: supervisor.status for camera, supervisor in self.supervisors.items()}

    def health(self) -> dict[str, Any]:
        now = self.clock.wall_ms()
        rates = self.bytes_per_day()
        totals = {row.id: row for row in self.index.cameras.all()}
        cameras = []
        for camera, status in self.statuses().items():
            row = totals.get(camera)
            first = self.index.segments.first(camera)
            rate = rates.get(camera)
            cameras.append(
                {
                    "camera": camera,
                    "state": status.state.value,
                    "since": status.since_ms,
                    "bitrate_bps": int(rate * 8 / 86_400) if rate is not None else None,
                    "restarts_1h": status.restarts_last_hour(),
                    "restarts": status.restarts,
                    "gaps_24h": self.index.gaps.count_since(camera, now - DAY_MS),
                    "last_segment_end": status.last_segment_end_ms,
                    "days_held": max(0.0, (now - first.start_ms) / DAY_MS) if first else 0.0,
                    "bytes": row.bytes if row else 0,
                    "segments": row.segments if row else 0,
                    "held_bytes": row.held_bytes if row else 0,
                }
            )
        used, segments, held = self.index.cameras.totals()
        free, total = self.disk()
        forecast = self._last_forecast
        return {
            "cameras": cameras,
            "disk": {
                "used_bytes": used,
                "allowed_bytes": allowed_bytes(
                    self.settings.budget_bytes, used, free, self.settings.min_free_bytes
                ),
                "held_bytes": held,
                "fs_free_bytes": free,
                "fs_total_bytes": total,
                "segments": segments,
                "days_possible": forecast.days_possible if forecast else None,
            },
            "alarms": [code for code, _, _ in self.index.alarms.active()],
        }

    def report_health(self) -> None:
        """The routine health report (may be dropped when the outbox is full)."""
        self._emit("recorder.health", self.health())

    def heartbeat_summary(self) -> dict[str, Any]:
        """A few words for the agent's heartbeat: which cameras record."""
        return {
            "cameras": {c: s.state.value for c, s in self.statuses().items()},
            "alarms": [code for code, _, _ in self.index.alarms.active()],
        }

    def diagnostics(self) -> dict[str, Any]:
        return {
            "health": self.health(),
            "processes": {c: s.pid for c, s in self.statuses().items()},
            "reconciled": self.reconciled.__dict__ if self.reconciled else None,
        }


def _gap_body(gap: Gap) -> dict[str, Any]:
    return {
        "gap_id": gap.id,
        "camera": gap.camera,
        "start": gap.start_ms,
        "end": gap.end_ms,
        "cause": gap.cause,
        "detail": (gap.detail or None) and gap.detail[:500],
    }


def _export_body(record: ExportRecord) -> dict[str, Any]:
    return {
        "export_id": record.id,
        "camera": record.camera,
        "start": record.start_ms,
        "end": record.end_ms,
        "who": record.who,
        "why": record.why,
        "created_at": record.created_ms,
        "clip_bytes": record.clip_bytes,
        "clip_sha256": record.clip_sha256,
        "manifest_sha256": record.manifest_sha256,
    }


def _hold_body(hold: HoldRecord, segments: int, size: int) -> dict[str, Any]:
    return {
        "hold_id": hold.id,
        "camera": hold.camera,
        "start": hold.start_ms,
        "end": hold.end_ms,
        "until": hold.until_ms,
        "who": hold.who,
        "why": hold.why,
        "state": hold.state,
        "placed_at": hold.placed_ms,
        "source": hold.source,
        "released_at": hold.released_ms,
        "released_by": hold.released_by,
        "release_why": hold.release_why,
        "held_segments": segments,
        "held_bytes": size,
    }
