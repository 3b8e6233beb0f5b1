"""An IP camera over RTSP/TCP without a camera: GStreamer's RTSP server, serving TCP only.

`rtsp_test_server.py` (beside this file) runs under Debian's own python3,
which has GStreamer's introspection bindings; the recorder's virtualenv does
not need them. The server refuses RTP over UDP (461), so whatever records it
records over the recorder's default transport, RTP interleaved on the RTSP
TCP connection. A test drives it like a camera misbehaving: `go_dark()`
(SIGKILL: the connection closes, new ones are refused), `come_back()` (the
same port again), `freeze()` / `thaw()` (SIGSTOP: connected, silent).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from functools import cache
from pathlib import Path

from edge.camera_recorder.testsource import free_port

from .conftest import wait_for

SERVER_SCRIPT = Path(__file__).with_name("rtsp_test_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-gi; not the virtualenv's
ELEMENTS = ("videotestsrc", "x264enc", "rtph264pay")
CHECK = (
    "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0');"
    "from gi.repository import Gst, GstRtspServer; Gst.init(None);"
    f"missing = [e for e in {ELEMENTS!r} if Gst.ElementFactory.find(e) is None];"
    "print(' '.join(missing))"
)
PACKAGES = (
    "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base "
    "gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly"
)


@cache
def why_unavailable() -> str | None:
    """None when the GStreamer RTSP server can run here, else what is missing."""
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} is missing"
    result = subprocess.run(
        [SYSTEM_PYTHON, "-c", CHECK], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        return f"GStreamer's RTSP server is not installed (apt-get install -y {PACKAGES})"
    if result.stdout.strip():
        return f"GStreamer elements missing: {result.stdout.strip()} (apt-get install -y {PACKAGES})"
    return None


class GstRtspCamera:
    """A TCP-only RTSP camera on a fixed loopback port, which can go dark and come back."""

    def __init__(
        self, log_dir: Path, *, size: str = "320x240", fps: int = 15, kbps: int = 1500
    ) -> None:
        self.port = free_port()
        self.log_dir = log_dir
        self.size = size
        self.fps = fps
        self.kbps = kbps
        self.server: subprocess.Popen[bytes] | None = None
        self.answering_since_ms: int | None = None
        """Wall-clock ms at which the server was seen listening (the camera is back)."""
        self.dark_since_ms: int | None = None
        self._starts = 0

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam1"

    def come_on(self) -> GstRtspCamera:
        """Start the server and wait until it listens."""
        assert self.server is None, "the camera is already on"
        self._starts += 1
        out = self.log_dir / f"server-{self._starts}.log"
        with open(out, "wb") as log:
            self.server = subprocess.Popen(
                [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--port", str(self.port), "--mount", "cam1",
                 "--size", self.size, "--fps", str(self.fps), "--kbps", str(self.kbps),
                 "--protocols", "tcp"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = self.server
        wait_for(lambda: server.poll() is not None or b"READY" in out.read_bytes(),
                 timeout=60, what="the RTSP server to listen")
        assert server.poll() is None, out.read_text(errors="replace")
        self.answering_since_ms = time.time_ns() // 1_000_000
        self.dark_since_ms = None
        return self

    come_back = come_on

    def go_dark(self) -> None:
        """The camera dies: SIGKILL, so its viewers' connections close at once."""
        if self.server is not None:
            self._signal(signal.SIGCONT)
            self.server.kill()
            self.server.wait(timeout=30)
            self.server = None
        self.dark_since_ms = time.time_ns() // 1_000_000
        self.answering_since_ms = None

    def freeze(self) -> None:
        """The camera hangs: its connections stay open, nothing answers, no data flows."""
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)

    def _signal(self, signum: int) -> None:
        if self.server is not None and self.server.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.server.pid, signum)

    def stop(self) -> None:
        self.go_dark()
