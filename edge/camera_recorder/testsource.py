"""A camera without a camera: ffmpeg serves an H.264 test pattern over TCP, as an IP camera would.

The pattern is encoded once (lavfi `testsrc2`, libx264) and then served in a
loop by stream copy, in real time, so a test camera costs next to nothing. A
test drives it like a real camera misbehaving: `go_dark()` (unplugged),
`freeze()` (connection open, no data: the stall ffmpeg 5.1 does not notice on
its own), `thaw()`, `come_back()`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from edge.camera_recorder.ffmpeg import ONE_OFF, death_pact

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_listening(port: int) -> bool | None:
    """Whether a socket listens on 127.0.0.1:`port` (None where /proc/net/tcp cannot say).

    Asked of the kernel, not by connecting: this camera serves one viewer at a
    time, and a connection to find out would be that viewer.
    """
    try:
        rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    local = f"0100007F:{port:04X}"  # 127.0.0.1, as the kernel prints it
    listen = "0A"
    return any(fields[1] == local and fields[3] == listen for fields in (row.split() for row in rows))


def encode_test_clip(
    path: Path,
    *,
    size: str = "160x120",
    rate: int = 10,
    seconds: int = 4,
    gop_s: float = 1.0,
    bitrate: str | None = None,
    ffmpeg: str = "ffmpeg",
) -> Path:
    """Encode a short H.264 test pattern in MPEG-TS once; cameras then loop it by stream copy."""
    if path.exists() and path.stat().st_size > 0:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part.ts")
    rate_options = ["-b:v", bitrate, "-maxrate", bitrate, "-bufsize", bitrate] if bitrate else []
    subprocess.run(
        [
            ffmpeg,
            *ONE_OFF,
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate={rate}",
            "-t",
            str(seconds),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-g",
            str(max(1, int(rate * gop_s))),
            "-pix_fmt",
            "yuv420p",
            *rate_options,
            "-f",
            "mpegts",
            str(partial),
        ],
        check=True,
        timeout=300,
    )
    partial.replace(path)
    return path


class TestPatternCamera:
    """An IP camera stand-in listening on `tcp://127.0.0.1:<port>`; serves one viewer at a time."""

    __test__ = False  # not a pytest test class

    def __init__(self, clip: Path, *, port: int | None = None, ffmpeg: str = "ffmpeg") -> None:
        self.clip = clip
        self.port = port or free_port()
        self.ffmpeg = ffmpeg
        self.sessions = 0
        self._lock = threading.Condition()
        self._serving = False
        self._closed = False
        self._process: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def start(self, ready_timeout_s: float = 30.0) -> TestPatternCamera:
        """Start serving; returns once the camera listens, as a real one is there before it is recorded."""
        with self._lock:
            self._serving = True
        self._thread = threading.Thread(
            target=self._serve, daemon=True, name=f"testcam-{self.port}"
        )
        self._thread.start()
        deadline = time.monotonic() + ready_timeout_s
        while is_listening(self.port) is False:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"test camera on port {self.port} not listening after {ready_timeout_s:g} s"
                )
            time.sleep(0.02)  # ffmpeg takes a few tens of ms to listen
        return self

    def _serve(self) -> None:
        while True:
            with self._lock:
                while not self._serving and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                self._process = subprocess.Popen(
                    [
                        *death_pact(),
                        self.ffmpeg,
                        *ONE_OFF,
                        "-re",
                        "-stream_loop",
                        "-1",
                        "-i",
                        str(self.clip),
                        "-c",
                        "copy",
                        "-f",
                        "mpegts",
                        f"tcp://127.0.0.1:{self.port}?listen=1",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    # A camera does not go dark at the terminal's Ctrl-C: whoever started it
                    # stops it, after the recorder (and it dies with its serving thread).
                    start_new_session=True,
                )
                self.sessions += 1
                process = self._process
            # Ends when the viewer disconnects; then listen again for the next one.
            process.wait()

    def _kill_current(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGCONT)
            process.kill()
            process.wait()

    def go_dark(self) -> None:
        """The camera is unplugged: the connection drops and new ones are refused."""
        with self._lock:
            self._serving = False
            self._kill_current()

    def come_back(self) -> None:
        with self._lock:
            self._serving = True
            self._lock.notify_all()

    def freeze(self) -> None:
        """The camera hangs: the TCP connection stays open but no data flows."""
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                os.kill(self._process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                os.kill(self._process.pid, signal.SIGCONT)

    def stop(self) -> None:
        with self._lock:
            self._closed = True
            self._serving = False
            self._kill_current()
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
