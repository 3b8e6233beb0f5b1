"""The recorder's configuration: the agent sections plus storage, retention and the cameras."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from edge.runtime.agent import AgentConfig, trial_sections
from spine.config import Section
from spine.httphop import HopToken

GIB = 1024**3
CAMERA_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class CameraSettings(Section):
    """One camera: where its stream comes from and how long its footage is kept."""

    id: str = Field(description="stable camera id; names its folder and its index rows")
    url: str = Field(description="any input ffmpeg reads: rtsp://, tcp://, a file...")
    windows: tuple[str, ...] = Field(
        default=(), description="the service windows this camera covers (complaint -> footage)"
    )
    retention_days: float | None = Field(
        default=None, gt=0, le=3650, description="overrides recorder.retention_days"
    )
    username: str | None = Field(
        default=None, description="camera login, kept out of the url and logs"
    )
    password: SecretStr | None = None
    password_file: Path | None = None
    rtsp_transport: Literal["tcp", "udp", "http"] = Field(
        default="tcp", description="RTSP over TCP survives lossy LANs without smearing"
    )
    read_timeout_s: float = Field(
        default=10.0, gt=0, le=600, description="ffmpeg's socket read timeout"
    )
    input_options: tuple[str, ...] = Field(
        default=(), description="extra ffmpeg input options for an odd camera"
    )

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not CAMERA_ID.match(value):
            raise ValueError("use 1-63 lowercase letters, digits and '-', starting alphanumeric")
        return value

    @model_validator(mode="after")
    def _one_password(self) -> CameraSettings:
        if self.password is not None and self.password_file is not None:
            raise ValueError("give password or password_file, not both")
        return self

    def resolved_password(self) -> str | None:
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_file is not None:
            return self.password_file.read_text(encoding="utf-8").strip()
        return None

    def input_url(self) -> str:
        """The url ffmpeg opens, with the credentials put in (never logged)."""
        if self.username is None:
            return self.url
        parts = urlsplit(self.url)
        secret = self.resolved_password()
        auth = quote(self.username, safe="")
        if secret is not None:
            auth += ":" + quote(secret, safe="")
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit(parts._replace(netloc=f"{auth}@{host}"))

    def safe_url(self) -> str:
        """The url as logs and diagnostics may show it: any password masked."""
        return redact_url(self.url)


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    auth, host = parts.netloc.rsplit("@", 1)
    user = auth.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class RecorderSettings(Section):
    """Storage, retention and supervision tunables shared by every camera."""

    storage_dir: Path | None = Field(
        default=None, description="where segments live; default <data_dir>/footage"
    )
    index_path: Path | None = Field(
        default=None, description="the footage index; default <data_dir>/recorder.sqlite"
    )
    export_dir: Path | None = Field(
        default=None, description="where clips go; default <data_dir>/exports"
    )
    segment_s: int = Field(
        default=60, ge=2, le=3600, description="segment length, cut on clock multiples"
    )
    retention_days: float = Field(
        default=30.0, gt=0, le=3650, description="default days kept per camera"
    )
    budget_bytes: int = Field(
        default=0,
        ge=0,
        description="most bytes of footage kept (held included); "
        "0 = the whole disk less min_free_bytes",
    )
    min_free_bytes: int = Field(
        default=2 * GIB, ge=0, description="free space always left for the OS, logs, exports"
    )
    stall_after_s: float | None = Field(
        default=None,
        gt=0,
        description="no progress from ffmpeg this long = stalled; default min(segment_s, 10), "
        "at least 2; keeps detection within two segment lengths",
    )
    connect_timeout_s: float = Field(
        default=20.0, gt=0, description="a fresh ffmpeg must deliver its first packet by then"
    )
    restart_min_s: float = Field(
        default=1.0, gt=0, description="first restart delay after a failure"
    )
    restart_max_s: float = Field(
        default=60.0, gt=0, description="the restart delay doubles up to this"
    )
    probe_interval_s: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="how often a camera that is down is asked (RTSP DESCRIBE) whether it is "
        "back; ffmpeg starts as soon as it answers",
    )
    prune_interval_s: float = Field(default=10.0, gt=0, description="how often retention runs")
    prune_batch: int = Field(
        default=2000, ge=1, description="most segments deleted per retention pass"
    )
    health_interval_s: float = Field(
        default=60.0, gt=0, description="routine health report period"
    )
    coverage_interval_s: float = Field(
        default=300.0, gt=0, description="how often recorded time ranges are reported upstream"
    )
    audit_per_minute: int = Field(
        default=600,
        ge=0,
        description="index rows checked against the disk per minute, in the background "
        "(0 = off); finds files deleted behind the recorder's back",
    )
    ffmpeg: str = Field(default="ffmpeg", description="ffmpeg executable")
    ffprobe: str = Field(
        default="ffprobe", description="ffprobe executable (exports read segment start times)"
    )
    export_format: Literal["mp4", "mkv", "ts"] = Field(
        default="mp4", description="container of exported clips (always stream copy)"
    )

    @model_validator(mode="after")
    def _restart_order(self) -> RecorderSettings:
        if self.restart_max_s < self.restart_min_s:
            raise ValueError("restart_max_s must be at least restart_min_s")
        return self

    def stall_threshold_s(self) -> float:
        if self.stall_after_s is not None:
            return self.stall_after_s
        return max(2.0, min(float(self.segment_s), 10.0))


class VideoSettings(Section):
    """The live view and evidence clips served to the hall gateway (docs/video.md); off when absent."""

    host: str = Field(default="0.0.0.0", description="address to listen on: the hall LAN's")
    port: int = Field(default=8091, ge=0, le=65535, description="0: any free port (tests)")
    token: HopToken = Field(description="the bearer token the hall gateway must present")
    live_dir: Path | None = Field(
        default=None,
        description="where the live playlists and their few 1 s segments are written; "
        "default <data_dir>/live; a tmpfs (e.g. /run/hallwatch/live) spares the disk",
    )
    live_segment_s: float = Field(
        default=1.0, gt=0, le=10, description="live segment length (cut on the camera's keyframes)"
    )
    live_segments: int = Field(
        default=5, ge=2, le=30, description="segments in the live playlist"
    )


class RecorderConfig(AgentConfig):
    """Everything `hall recorder run` needs, from one TOML file."""

    # A one-machine trial records no camera (list them under [[cameras]]): it reports its
    # disk and index, and answers holds; a trial machine's disk holds little, so 1 GiB is left free.
    trial_defaults = {
        **trial_sections("rec-01", "recorder"),
        "recorder": {"min_free_bytes": 1024**3},
    }

    recorder: RecorderSettings = RecorderSettings()
    cameras: tuple[CameraSettings, ...] = Field(default=(), description="the cameras recorded")
    video: VideoSettings | None = Field(
        default=None, description="live view and evidence over HTTP to the gateway; none when absent"
    )

    @field_validator("cameras")
    @classmethod
    def _unique_cameras(cls, cameras: tuple[CameraSettings, ...]) -> tuple[CameraSettings, ...]:
        seen: set[str] = set()
        for camera in cameras:
            if camera.id in seen:
                raise ValueError(f"camera id {camera.id!r} appears twice")
            seen.add(camera.id)
        return cameras

    @property
    def storage_dir(self) -> Path:
        return self.recorder.storage_dir or self.data_dir / "footage"

    @property
    def index_path(self) -> Path:
        return self.recorder.index_path or self.data_dir / "recorder.sqlite"

    @property
    def export_dir(self) -> Path:
        return self.recorder.export_dir or self.data_dir / "exports"

    @property
    def live_dir(self) -> Path | None:
        """Where each camera's live playlist goes, or None when the live view is off."""
        if self.video is None:
            return None
        return self.video.live_dir or self.data_dir / "live"

    def retention_days_of(self, camera: CameraSettings) -> float:
        return camera.retention_days or self.recorder.retention_days

    def camera(self, camera_id: str) -> CameraSettings:
        for camera in self.cameras:
            if camera.id == camera_id:
                return camera
        known = ", ".join(c.id for c in self.cameras) or "none"
        raise KeyError(f"no camera {camera_id!r} in the configuration (known: {known})")
