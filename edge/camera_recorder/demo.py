"""A recorder with test-pattern cameras, for `hall demo`: real ffmpeg, real segments, a temp dir."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.camera_recorder.agent import RecorderAgent
from edge.camera_recorder.config import RecorderConfig
from edge.camera_recorder.testsource import TestPatternCamera, encode_test_clip
from spine.config import BrokerSettings

log = logging.getLogger(__name__)


@dataclass
class DemoRecorder:
    """What `start_demo_recorder` returns: stop it, then read its summary."""

    agent: RecorderAgent
    cameras: list[TestPatternCamera]
    config: RecorderConfig
    uplink: bool
    _stopped: bool = field(default=False, repr=False)

    def summary(self) -> dict[str, Any]:
        """Per camera: state, segments and bytes indexed, open gap; plus alarms."""
        recorder = self.agent.recorder
        totals = {row.id: row for row in recorder.index.cameras.all()}
        return {
            "device": self.config.device.id,
            "storage": str(self.config.storage_dir),
            "cameras": {
                camera: {
                    "state": status.state.value,
                    "segments": totals[camera].segments if camera in totals else 0,
                    "bytes": totals[camera].bytes if camera in totals else 0,
                }
                for camera, status in recorder.statuses().items()
            },
            "alarms": [code for code, _, _ in recorder.index.alarms.active()],
        }

    def stop(self) -> dict[str, Any]:
        """Stop recording (closing the open segments) and the test cameras; returns the summary."""
        if self._stopped:
            return {}
        summary = self.summary()
        self._stopped = True
        if self.uplink:
            self.agent.stop()
        else:
            if self.agent.video is not None:
                self.agent.video.stop()
            self.agent.recorder.stop()
            self.agent.agent.outbox.close()
        for camera in self.cameras:
            camera.stop()
        return summary


def demo_config(
    data_dir: Path,
    urls: list[str],
    *,
    hall: str,
    device_id: str,
    broker: BrokerSettings | None,
    segment_s: int,
    video: dict[str, Any] | None = None,
) -> RecorderConfig:
    """The configuration the demo runs; the same keys as a real recorder's TOML."""
    return RecorderConfig.model_validate(
        {
            "device": {"id": device_id, "hall": hall, "kind": "recorder"},
            "broker": broker.model_dump() if broker is not None else {},
            "outbox": {"path": str(data_dir / "outbox.sqlite")},
            "data_dir": str(data_dir),
            "recorder": {
                "segment_s": segment_s,
                # A day of footage: what a demo machine's disk holds without a budget alarm.
                "retention_days": 1,
                "min_free_bytes": 256 * 1024 * 1024,
                "restart_min_s": 0.5,
                "restart_max_s": 5,
                "health_interval_s": 10,
                "coverage_interval_s": 10,
                "prune_interval_s": 5,
            },
            "cameras": [
                {"id": f"cam-{n}", "url": url, "windows": [f"w{n:02d}"], "read_timeout_s": 5}
                for n, url in enumerate(urls, start=1)
            ],
            **({"video": video} if video else {}),
        }
    )


def start_demo_recorder(
    data_dir: Path,
    broker: BrokerSettings | None,
    hall: str,
    *,
    device_id: str = "rec-demo",
    cameras: int = 2,
    segment_s: int = 2,
    video: dict[str, Any] | None = None,
) -> DemoRecorder:
    """Serve `cameras` test patterns over TCP and record them into `data_dir`.

    With a broker, the recorder's events (camera states, coverage, gaps,
    health) reach the hall gateway; without one they wait in the outbox. With
    `video` (a `[video]` section) it serves its live view and evidence to the gateway.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    clip = encode_test_clip(data_dir / "testsrc" / "pattern.ts", size="320x240", rate=10)
    sources = [TestPatternCamera(clip).start() for _ in range(cameras)]
    config = demo_config(
        data_dir, [s.url for s in sources], hall=hall, device_id=device_id, broker=broker,
        segment_s=segment_s, video=video,
    )
    agent = RecorderAgent(config)
    if broker is not None:
        agent.start()
    else:
        agent.recorder.start()
        if agent.video is not None:
            agent.video.start()
    log.info("demo recorder %s recording %d test camera(s) into %s", device_id, cameras, data_dir)
    return DemoRecorder(agent, sources, config, uplink=broker is not None)
