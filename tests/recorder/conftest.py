"""Recorder fixtures: test-pattern cameras served by ffmpeg, recorders that always stop."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import BaseModel

from edge.camera_recorder.config import RecorderConfig
from edge.camera_recorder.service import Recorder
from edge.camera_recorder.testsource import TestPatternCamera, encode_test_clip

if TYPE_CHECKING:
    from .gst_camera import GstRtspCamera

# Generous: other engineers run their suites on the same two cores.
DEADLINE_S = 40.0


def wait_for(
    condition: Callable[[], Any], *, timeout: float = DEADLINE_S, what: str = "condition"
) -> Any:
    """Poll `condition` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)  # polling a condition with a deadline


def ffmpeg_argv(recorder: Recorder, camera: str = "cam-1") -> list[bytes] | None:
    """The argv of a camera's running ffmpeg once it has exec'd, else None (poll it with `wait_for`).

    Between fork and exec the child's argv is the recorder's, and a run that
    could not connect ends with its process: neither is an answer yet.
    """
    pid = recorder.supervisors[camera].status.pid
    if pid is None:
        return None
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    return argv if b"-segment_time" in argv else None


class EventLog:
    """An event sink that keeps what the recorder would have put in its outbox."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def record(self, type: str, body: Mapping[str, Any] | BaseModel) -> None:
        from contract.catalog import validate_body

        data = body.model_dump(mode="json") if isinstance(body, BaseModel) else dict(body)
        validate_body(type, data)  # every event the recorder emits must match its schema
        self.events.append((type, data))

    def of(self, type: str) -> list[dict[str, Any]]:
        return [body for kind, body in self.events if kind == type]


def recorder_config(data_dir: Path, cameras: list[dict[str, Any]], **recorder: Any) -> RecorderConfig:
    settings: dict[str, Any] = {
        "segment_s": 2,
        "restart_min_s": 0.3,
        "restart_max_s": 2.0,
        "stall_after_s": 2.5,
        "connect_timeout_s": 15.0,
        "min_free_bytes": 0,
        "prune_interval_s": 3600.0,
        "health_interval_s": 3600.0,
        "coverage_interval_s": 3600.0,
        "audit_per_minute": 0,
    }
    settings.update(recorder)
    # The test pattern has a keyframe every second: half a second of probing finds it.
    cameras = [{"input_options": ["-analyzeduration", "500000"], **c} for c in cameras]
    return RecorderConfig.model_validate(
        {
            "device": {"id": "rec-1", "hall": "hall-1", "kind": "recorder"},
            "outbox": {"path": str(data_dir / "outbox.sqlite")},
            "data_dir": str(data_dir),
            "recorder": settings,
            "cameras": cameras,
        }
    )


@pytest.fixture(scope="session")
def test_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4 s, 160x120, 10 fps H.264 test pattern with a keyframe every second."""
    return encode_test_clip(tmp_path_factory.mktemp("clip") / "pattern.ts")


@pytest.fixture
def make_camera(test_clip: Path) -> Iterator[Callable[[], TestPatternCamera]]:
    cameras: list[TestPatternCamera] = []

    def make() -> TestPatternCamera:
        camera = TestPatternCamera(test_clip).start()
        cameras.append(camera)
        return camera

    yield make
    for camera in cameras:
        camera.stop()


@pytest.fixture
def events() -> EventLog:
    return EventLog()


@pytest.fixture
def make_recorder(events: EventLog) -> Iterator[Callable[..., Recorder]]:
    """Builds recorders and stops any still running at the end (their ffmpegs with them)."""
    running: list[Recorder] = []

    def make(
        config: RecorderConfig,
        *,
        start: bool = True,
        record: bool = True,
        background: bool = True,
        **kwargs: Any,
    ) -> Recorder:
        recorder = Recorder(config, events=events, **kwargs)
        if start:
            recorder.start(record=record, background=background)
            running.append(recorder)
        return recorder

    yield make
    for recorder in running:
        recorder.stop()


@pytest.fixture
def tcp_rtsp_camera(tmp_path: Path) -> Iterator[GstRtspCamera]:
    """A live H.264 camera behind GStreamer's RTSP server, serving RTP over TCP only."""
    from .gst_camera import GstRtspCamera, why_unavailable  # it uses wait_for from here

    reason = why_unavailable()
    if reason is not None:
        pytest.skip(reason)
    log_dir = tmp_path / "rtsp-server"
    log_dir.mkdir()
    camera = GstRtspCamera(log_dir).come_on()
    try:
        yield camera
    finally:
        camera.stop()
