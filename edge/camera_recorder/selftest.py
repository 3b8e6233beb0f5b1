"""`hall recorder selftest`: can this box record every camera and keep the period? Checked, not assumed."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edge.camera_recorder.camera import CameraBackend
from edge.camera_recorder.config import RecorderConfig
from edge.camera_recorder.ffmpeg import FfmpegBackend


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def run_selftest(
    config: RecorderConfig,
    *,
    backend: CameraBackend | None = None,
    snapshot_dir: Path | None = None,
    timeout_s: float = 15.0,
) -> list[Check]:
    """Every check, in order; a technician reads them top to bottom."""
    checks = [_ffmpeg(config.recorder.ffmpeg), _storage(config), _disk(config)]
    backend = backend or FfmpegBackend(config.recorder.ffmpeg)
    folder = snapshot_dir or Path(tempfile.mkdtemp(prefix="hallwatch-snapshots-"))
    folder.mkdir(parents=True, exist_ok=True)
    if not config.cameras:
        checks.append(Check("cameras", False, "no camera configured"))
    for camera in config.cameras:
        dest = folder / f"{camera.id}.jpg"
        problem = backend.snapshot(camera, dest, timeout_s)
        if problem is None:
            checks.append(
                Check(f"camera {camera.id}", True,
                      f"{camera.safe_url()}: snapshot {dest} ({dest.stat().st_size} bytes)")
            )
        else:
            checks.append(Check(f"camera {camera.id}", False, f"{camera.safe_url()}: {problem}"))
    return checks


def _ffmpeg(ffmpeg: str) -> Check:
    path = shutil.which(ffmpeg)
    if path is None:
        return Check("ffmpeg", False, f"{ffmpeg} not found: apt-get install ffmpeg")
    result = subprocess.run([path, "-hide_banner", "-version"], capture_output=True, timeout=10,
                            check=False)
    first = result.stdout.decode("utf-8", "replace").splitlines()[:1]
    return Check("ffmpeg", result.returncode == 0, first[0] if first else path)


def _storage(config: RecorderConfig) -> Check:
    folder = config.storage_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".selftest"
        with open(probe, "wb") as handle:
            handle.write(b"\0" * 65536)
            handle.flush()
            os.fsync(handle.fileno())
        probe.unlink()
    except OSError as exc:
        return Check("storage", False, f"{folder} is not writable: {exc}")
    return Check("storage", True, f"{folder} is writable and syncs")


def _disk(config: RecorderConfig) -> Check:
    stats = os.statvfs(config.storage_dir)
    free = stats.f_bavail * stats.f_frsize
    total = stats.f_blocks * stats.f_frsize
    settings = config.recorder
    room = free - settings.min_free_bytes
    detail = f"{free / 1e9:.1f} GB free of {total / 1e9:.1f} GB"
    if room <= 0:
        return Check("disk", False, f"{detail}: less than min_free_bytes, nothing can be recorded")
    if settings.budget_bytes and settings.budget_bytes > total - settings.min_free_bytes:
        return Check(
            "disk", False,
            f"{detail}: budget_bytes {settings.budget_bytes / 1e9:.1f} GB is more than this "
            "disk can ever hold",
        )
    return Check("disk", True, f"{detail}; budget "
                 + (f"{settings.budget_bytes / 1e9:.1f} GB" if settings.budget_bytes
                    else "the whole disk less min_free_bytes"))
