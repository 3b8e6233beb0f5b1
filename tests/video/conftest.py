"""A hall's video path for a test: test-pattern cameras, a real recorder, the gateway's relay, central.

Everything real: ffmpeg cameras served over TCP, the recorder's ffmpeg writing
footage and the live playlist, the recorder's and the gateway's HTTP hops with
their tokens, Mosquitto carrying the recorder's events to central, and
central's API. Ports are free ports; nothing is shared between tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from central.config import CentralConfig
from central.service import CentralService
from edge.camera_recorder.agent import RecorderAgent
from edge.camera_recorder.config import RecorderConfig
from edge.camera_recorder.testsource import TestPatternCamera, encode_test_clip
from gateway.config import GatewayConfig
from gateway.service import GatewayService
from spine.broker.runner import MosquittoBroker
from tests.support import wait_until

HALL = "hall-01"
GATEWAY = "gw-hall-01"
RECORDER = "rec-01"
RECORDER_TOKEN = "recorder-video-token-for-tests"
HALL_TOKEN = "hall-video-token-for-tests"
VIEWER_TOKEN = "wall-viewer-token-for-tests"
SUPERVISOR_TOKEN = "wall-supervisor-token-for-tests"
DEADLINE_S = 60.0  # generous: other suites share these two cores


@pytest.fixture(scope="session")
def pattern(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4 s, 160x120, 10 fps H.264 test pattern with a keyframe every second, as IP cameras send."""
    return encode_test_clip(tmp_path_factory.mktemp("pattern") / "pattern.ts")


@pytest.fixture
def make_cameras(pattern: Path) -> Iterator[Callable[[int], list[TestPatternCamera]]]:
    started: list[TestPatternCamera] = []

    def make(count: int) -> list[TestPatternCamera]:
        cameras = [TestPatternCamera(pattern).start() for _ in range(count)]
        started.extend(cameras)
        return cameras

    yield make
    for camera in started:
        camera.stop()


def recorder_settings(root: Path, cameras: list[TestPatternCamera], *, broker_port: int | None = None,
                      **video: Any) -> RecorderConfig:
    """A recorder of `cameras` (cam-1 covers window w01, ...) with its live view and evidence on."""
    return RecorderConfig.model_validate({
        "device": {"id": RECORDER, "hall": HALL, "kind": "recorder"},
        "broker": {"port": broker_port or 1883},
        "outbox": {"path": str(root / RECORDER / "outbox.sqlite")},
        "uplink": {"heartbeat_s": 1, "ack_timeout_s": 3},
        "data_dir": str(root / RECORDER),
        "recorder": {"segment_s": 2, "restart_min_s": 0.3, "restart_max_s": 2.0, "min_free_bytes": 0,
                     "connect_timeout_s": 15.0, "health_interval_s": 2.0, "audit_per_minute": 0},
        "cameras": [
            {"id": f"cam-{n}", "url": camera.url, "windows": [f"w{n:02d}"], "read_timeout_s": 5,
             # the pattern has a keyframe a second: half a second of probing finds it
             "input_options": ["-analyzeduration", "500000"]}
            for n, camera in enumerate(cameras, start=1)
        ],
        "video": {"host": "127.0.0.1", "port": 0, "token": {"token": RECORDER_TOKEN}, **video},
    })


@dataclass
class VideoHall:
    """The running video path of one hall, and who may call it."""

    cameras: list[TestPatternCamera]
    recorder: RecorderAgent
    gateway: GatewayService
    central: CentralService
    stops: list[Callable[[], Any]] = field(default_factory=list)

    @property
    def recorder_video(self) -> Any:
        assert self.recorder.video is not None
        return self.recorder.video

    @property
    def relay(self) -> Any:
        assert self.gateway.video is not None
        return self.gateway.video

    def api(self, token: str = VIEWER_TOKEN) -> httpx.Client:
        return httpx.Client(base_url=self.central.base_url, timeout=60,
                            headers={"Authorization": f"Bearer {token}"})

    def wait_for_cameras(self, count: int) -> list[dict[str, Any]]:
        """Central lists `count` recording cameras (the recorders' events have arrived)."""
        with self.api() as http:
            return wait_until(
                lambda: (found := [c for c in http.get("/api/video/cameras").json()
                                   if c["state"] == "recording"]) and len(found) >= count and found,
                DEADLINE_S, f"central to list {count} recording cameras")

    def stop(self) -> None:
        for stop in reversed(self.stops):
            stop()


def central_settings(root: Path, broker_port: int, gateway_url: str) -> CentralConfig:
    return CentralConfig.model_validate({
        "data_dir": str(root / "central"),
        "broker": {"port": broker_port},
        "http": {"host": "127.0.0.1", "port": 0},
        "ingest": {"halls": [{"hall": HALL, "gateway": GATEWAY, "name": "市政务服务中心"}]},
        "web": {"users": [{"name": "wall", "role": "viewer", "token": VIEWER_TOKEN},
                          {"name": "office", "role": "supervisor", "token": SUPERVISOR_TOKEN}],
                "tick_s": 0.2, "hold_retry_s": 2},
        "complaints": {"footage_before_s": 0, "footage_after_s": 0},
        "video": {"halls": [{"hall": HALL, "url": gateway_url, "token": {"token": HALL_TOKEN}}]},
    })


def gateway_settings(root: Path, broker_port: int, recorder_url: str) -> GatewayConfig:
    return GatewayConfig.model_validate({
        "gateway": {"id": GATEWAY, "hall": HALL},
        "store_path": str(root / "gateway" / "gateway.sqlite"),
        "hall_broker": {"port": broker_port},
        "central_broker": {"port": broker_port},
        "uplink": {"heartbeat_s": 1, "ack_timeout_s": 3},
        "devices": {"known": [{"id": RECORDER, "kind": "recorder"}, {"id": "kiosk-01", "kind": "kiosk"}],
                    "silence_s": 30},
        "video": {"host": "127.0.0.1", "port": 0, "token": {"token": HALL_TOKEN},
                  "recorders": [{"device": RECORDER, "url": recorder_url,
                                 "token": {"token": RECORDER_TOKEN}},
                                {"device": "kiosk-01", "url": recorder_url,
                                 "token": {"token": RECORDER_TOKEN}}]},
    })


@pytest.fixture
def start_video_hall(
    tmp_path: Path, broker: MosquittoBroker, make_cameras: Callable[[int], list[TestPatternCamera]],
) -> Iterator[Callable[[int], VideoHall]]:
    """Starts cameras, the recorder, the gateway and central, in that order; stops them all."""
    halls: list[VideoHall] = []

    def start(camera_count: int) -> VideoHall:
        cameras = make_cameras(camera_count)
        stops: list[Callable[[], Any]] = []
        recorder = RecorderAgent(recorder_settings(tmp_path, cameras, broker_port=broker.port))
        recorder.start()
        stops.append(recorder.stop)
        try:
            assert recorder.video is not None
            gateway = GatewayService(gateway_settings(tmp_path, broker.port, recorder.video.url))
            gateway.start()
            stops.append(gateway.stop)
            assert gateway.video is not None
            central = CentralService(central_settings(tmp_path, broker.port, gateway.video.url))
            central.start()
            stops.append(central.stop)
        except BaseException:
            for stop in reversed(stops):
                stop()
            raise
        hall = VideoHall(cameras, recorder, gateway, central, stops)
        halls.append(hall)
        return hall

    yield start
    for hall in halls:
        hall.stop()
