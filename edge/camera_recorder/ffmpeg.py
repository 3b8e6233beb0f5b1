"""The real camera backend: one ffmpeg per camera, stream copy into clock-aligned MPEG-TS segments.

MPEG-TS needs no index at the end of the file, so a segment cut short by a
power cut still plays up to its last packet. ffmpeg itself says when a
segment is closed, in its `-segment_list` (CSV, one line per closed file);
its `-progress` output on a pipe is the heartbeat that reveals a stall.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import time
from collections import deque
from pathlib import Path
from urllib.parse import urlsplit

from edge.camera_recorder.camera import ClosedSegment, Progress, RecordingJob
from edge.camera_recorder.config import CameraSettings
from edge.camera_recorder.live import clear, hls_slave, tee_outputs, tee_slave

log = logging.getLogger(__name__)

ONE_OFF = ("-hide_banner", "-nostdin", "-loglevel", "error")
"""How every short ffmpeg job starts: no banner, never reads the terminal, errors only."""
PROBE_US = 2_000_000  # enough to find the codec parameters of an H.264/H.265 camera
SETTLED_US = 1_000_000
"""Media written before ffmpeg's start-up warnings are over (unset timestamps, DTS fixes)."""


def _ffmpeg_env() -> dict[str, str]:
    # Segment names come from ffmpeg's strftime in local time: pin it to UTC so
    # names never repeat or skip at a daylight-saving change.
    env = dict(os.environ)
    env["TZ"] = "UTC"
    return env


def death_pact() -> list[str]:
    """A prefix that kills ffmpeg when the recorder dies, even by SIGKILL (Linux).

    Otherwise a kill -9'd recorder leaves ffmpeg writing, and the restarted
    recorder's ffmpeg for the same camera would record beside it.
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return []
    return [setpriv, "--pdeathsig", "KILL", "--"]


def input_options(camera: CameraSettings) -> list[str]:
    scheme = urlsplit(camera.url).scheme.lower()
    timeout_us = str(int(camera.read_timeout_s * 1_000_000))
    if scheme in ("rtsp", "rtsps"):
        # ffmpeg 5.1: -timeout is the RTSP socket timeout; it has no RTSP
        # reconnect, so the supervisor restarts it.
        options = ["-rtsp_transport", camera.rtsp_transport, "-timeout", timeout_us]
    elif scheme in ("", "file"):
        options = []
    else:
        options = ["-rw_timeout", timeout_us]
    return [*options, "-analyzeduration", str(PROBE_US), "-probesize", str(PROBE_US)]


def recording_command(ffmpeg: str, job: RecordingJob) -> list[str]:
    """The ffmpeg command line of one run: stream copy only, no decoding, no encoding.

    With a live view, the same packets also go to the camera's live playlist
    through the tee muxer (`live.py`); the segments are the same either way.
    """
    camera = job.camera
    return [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "warning",
        "-nostats",
        "-progress",
        "pipe:1",
        "-stats_period",
        "0.5",
        *input_options(camera),
        *camera.input_options,
        "-i",
        camera.input_url(),
        "-map",
        "0:v:0",
        "-map",
        "0:a?",
        "-c",
        "copy",
        *(_segment_output(job) if job.live is None else _tee_output(job)),
    ]


def _segment_output(job: RecordingJob) -> list[str]:
    return [
        "-f",
        "segment",
        "-segment_time",
        str(job.segment_s),
        "-segment_atclocktime",
        "1",
        "-segment_format",
        "mpegts",
        "-segment_list",
        str(job.list_path),
        "-segment_list_type",
        "csv",
        "-strftime",
        "1",
        str(job.camera_dir / job.segment_name_pattern()),
    ]


def _tee_output(job: RecordingJob) -> list[str]:
    """The segments exactly as `_segment_output` writes them, plus the live playlist."""
    assert job.live is not None
    segments = tee_slave(
        {
            "f": "segment",
            "segment_time": str(job.segment_s),
            "segment_atclocktime": "1",
            "segment_format": "mpegts",
            "segment_list": str(job.list_path),
            "segment_list_type": "csv",
            "strftime": "1",
        },
        str(job.camera_dir / job.segment_name_pattern()),
    )
    return ["-f", "tee", tee_outputs(segments, hls_slave(job.live))]


class SegmentListReader:
    """Reads the lines ffmpeg appends to a segment list, complete lines only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""

    def read(self) -> list[ClosedSegment]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        self._offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        closed = []
        for line in lines:
            parsed = parse_list_line(line.decode("utf-8", "replace"))
            if parsed is not None:
                closed.append(parsed)
        return closed


def parse_list_line(line: str) -> ClosedSegment | None:
    parts = line.strip().rsplit(",", 2)
    if len(parts) != 3:
        return None
    name, start, end = parts
    try:
        return ClosedSegment(name.strip('"'), float(start), float(end))
    except ValueError:
        return None


class FfmpegRecording:
    """A running ffmpeg recording one camera."""

    def __init__(self, ffmpeg: str, job: RecordingJob) -> None:
        self.job = job
        job.list_path.parent.mkdir(parents=True, exist_ok=True)
        self._list = SegmentListReader(job.list_path)
        if job.live is not None:
            job.live.prepare()
        self._log_handle = open(job.log_path, "wb")  # noqa: SIM115 - lives as long as the process
        command = [*death_pact(), *recording_command(ffmpeg, job)]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log_handle,
            env=_ffmpeg_env(),
            # Its own session: a Ctrl-C at the terminal reaches the recorder,
            # which then stops each ffmpeg cleanly (closing its segment).
            start_new_session=True,
        )
        assert self._process.stdout is not None
        os.set_blocking(self._process.stdout.fileno(), False)
        self._stdout = self._process.stdout
        self._buffer = b""
        self._out_time: int | None = None
        self._advanced_at: float | None = None
        self._settled_log_bytes: int | None = None  # the log's size once start-up was over

    @property
    def pid(self) -> int:
        return self._process.pid

    def poll(self) -> int | None:
        return self._process.poll()

    def progress(self) -> Progress:
        self._drain_progress()
        return Progress(self._out_time, self._advanced_at)

    def _drain_progress(self) -> None:
        while True:
            try:
                chunk = self._stdout.read(65536)
            except (BlockingIOError, ValueError):
                return
            if not chunk:
                return
            self._buffer += chunk
            *lines, self._buffer = self._buffer.split(b"\n")
            for line in lines:
                key, _, value = line.decode("ascii", "replace").partition("=")
                if key == "out_time_us" and value.strip().lstrip("-").isdigit():
                    out_time = int(value)
                    if self._out_time is None or out_time > self._out_time:
                        self._out_time = out_time
                        self._advanced_at = time.monotonic()
                    if self._settled_log_bytes is None and out_time >= SETTLED_US:
                        self._settled_log_bytes = os.fstat(self._log_handle.fileno()).st_size

    def closed_segments(self) -> list[ClosedSegment]:
        return self._list.read()

    def stop(self, grace_s: float = 3.0) -> int:
        if self._process.poll() is None:
            try:
                # SIGTERM makes ffmpeg abort a blocked read, close the segment
                # and write its list line; SIGKILL only if it will not.
                os.kill(self._process.pid, signal.SIGTERM)
                # A hung (SIGSTOPped) ffmpeg acts on SIGTERM only once continued.
                os.kill(self._process.pid, signal.SIGCONT)
                self._process.wait(grace_s)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            except ProcessLookupError:
                pass
        self._drain_progress()
        self._stdout.close()
        self._log_handle.close()
        if self.job.live is not None:
            clear(self.job.live.directory)  # a stopped camera has no live view to serve
        return int(self._process.returncode)

    def kill(self) -> None:
        """For tests: die the hard way, as in a crash."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def log_tail(self, lines: int = 20) -> list[str]:
        """The last lines ffmpeg logged once it was recording (all, if it never got that far).

        What ended a run is said at its end; the warnings every start-up
        prints (unset timestamps, DTS fixes) are not why it ended.
        """
        try:
            with open(self.job.log_path, "rb") as handle:
                handle.seek(self._settled_log_bytes or 0)
                tail = deque(handle, maxlen=lines)
        except OSError:
            return []
        return [text for line in tail if (text := line.decode("utf-8", "replace").rstrip())]


class FfmpegBackend:
    """Cameras recorded by the system's ffmpeg."""

    def __init__(self, ffmpeg: str = "ffmpeg") -> None:
        self.ffmpeg = ffmpeg

    def start(self, job: RecordingJob) -> FfmpegRecording:
        return FfmpegRecording(self.ffmpeg, job)

    def snapshot(self, camera: CameraSettings, dest: Path, timeout_s: float) -> str | None:
        """Decode one frame to a JPEG: the one time the recorder decodes, for the technician."""
        command = [
            self.ffmpeg,
            *ONE_OFF,
            *input_options(camera),
            *camera.input_options,
            "-i",
            camera.input_url(),
            "-frames:v",
            "1",
            "-y",
            str(dest),
        ]
        try:
            result = subprocess.run(
                command, capture_output=True, timeout=timeout_s, env=_ffmpeg_env(), check=False
            )
        except subprocess.TimeoutExpired:
            return f"no frame within {timeout_s:g} s"
        except FileNotFoundError:
            return f"{self.ffmpeg} is not installed"
        if result.returncode != 0 or not dest.exists() or dest.stat().st_size == 0:
            reason = result.stderr.decode("utf-8", "replace").strip().splitlines()
            text = reason[-1] if reason else f"ffmpeg exited with {result.returncode}"
            return text.replace(camera.input_url(), camera.safe_url())
        return None
