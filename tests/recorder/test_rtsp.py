"""Recording a real RTSP camera: Debian's rtsp-server-perl serves what an ffmpeg test pattern pushes.

rtsp-server-perl delivers RTP to its clients over UDP only (a SETUP asking for
RTP interleaved on the RTSP connection is refused with 400), so this camera is
configured with `rtsp_transport = "udp"`; the recorder's default stays TCP.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge.camera_recorder.index import GapCause
from edge.camera_recorder.service import Recorder
from edge.camera_recorder.supervisor import CameraState
from edge.camera_recorder.testsource import free_port

from .conftest import EventLog, ffmpeg_argv, recorder_config, wait_for
from .media import probe, video_codec, video_packets

SERVER = "rtsp-server-perl"
MOUNT = "cam1"
# rtsp-server-perl 0.06 honours --rtp_start_port only until its last mount goes,
# then falls back to its built-in 20000 (RTSP::Server::$RTP_START_PORT): pin
# that too, or a camera coming back collides with any other server on 20000.
PINNED_RTP_PORT = (
    "require RTSP::Server; $RTSP::Server::RTP_START_PORT = shift @ARGV;"
    " my $script = shift @ARGV; do $script; die $@ if $@;"
)


def free_udp_pair() -> int:
    """An even UDP port whose successor is free too: the server's RTP/RTCP ports for the push."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe_sock:
            probe_sock.bind(("127.0.0.1", 0))
            base = int(probe_sock.getsockname()[1]) & ~1
        with contextlib.ExitStack() as stack:
            try:
                for port in (base, base + 1):
                    sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return base
    raise RuntimeError("no free pair of UDP ports")


def describe_status(port: int, path: str = MOUNT) -> int | None:
    """The status code of an RTSP DESCRIBE (200: something is pushing `path`), None if no answer."""
    request = f"DESCRIBE rtsp://127.0.0.1:{port}/{path} RTSP/1.0\r\nCSeq: 1\r\n\r\n"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(request.encode("ascii"))
            status_line = sock.recv(4096).split(b"\r\n", 1)[0].split()
    except OSError:
        return None
    return int(status_line[1]) if len(status_line) >= 2 and status_line[1].isdigit() else None


def stop_process(process: subprocess.Popen[bytes], *, grace_s: float = 0.0) -> None:
    """SIGTERM first when given a grace period (ffmpeg then says TEARDOWN), SIGKILL if need be."""
    if process.poll() is None and grace_s > 0:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_s)
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


class RtspCamera:
    """A camera behind an RTSP server: ffmpeg pushes a live test pattern, viewers pull it."""

    def __init__(self, client_port: int, source_port: int, log_dir: Path) -> None:
        self.client_port = client_port
        self.source_port = source_port
        self.log_dir = log_dir
        self.pusher: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.client_port}/{MOUNT}"

    def come_on(self) -> None:
        """Start pushing (UDP, as the server understands) and wait until viewers can see it."""
        with open(self.log_dir / "pusher.log", "ab") as log:
            self.pusher = subprocess.Popen(
                ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning", "-re",
                 "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25",
                 "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
                 "-g", "25", "-pix_fmt", "yuv420p",
                 "-rtsp_transport", "udp", "-f", "rtsp",
                 f"rtsp://127.0.0.1:{self.source_port}/{MOUNT}"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                start_new_session=True,
            )
        pusher = self.pusher
        wait_for(lambda: pusher.poll() is not None or describe_status(self.client_port) == 200,
                 timeout=15, what="the pushed stream to be served")
        assert pusher.poll() is None, (self.log_dir / "pusher.log").read_text()

    def go_dark(self) -> None:
        """The camera stops streaming: viewers' RTP just stops, new viewers get 404.

        Stopped with SIGTERM so that ffmpeg says TEARDOWN: rtsp-server-perl keeps
        the mount of a source that vanished without one (SIGKILL) and refuses the
        camera's next ANNOUNCE with 403, so a killed camera could never come back.
        """
        if self.pusher is not None:
            stop_process(self.pusher, grace_s=5)
            self.pusher = None
        wait_for(lambda: describe_status(self.client_port) == 404, timeout=15,
                 what="the server to drop the mount")


@pytest.fixture
def rtsp_camera(tmp_path: Path) -> Iterator[RtspCamera]:
    """rtsp-server-perl on free loopback ports (not the system service's) and a pushing camera."""
    script = shutil.which(SERVER)
    if script is None:
        pytest.skip(f"{SERVER} is not installed (apt-get install -y {SERVER})")
    log_dir = tmp_path / "rtsp"
    log_dir.mkdir()
    client_port, source_port, rtp_port = free_port(), free_port(), free_udp_pair()
    with open(log_dir / "server.log", "wb") as log:
        server = subprocess.Popen(
            ["perl", "-e", PINNED_RTP_PORT, str(rtp_port), script,
             "-c", str(client_port), "-s", str(source_port),
             "--client_listen_address", "127.0.0.1", "--source_listen_address", "127.0.0.1",
             "--rtp_start_port", str(rtp_port)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    camera = RtspCamera(client_port, source_port, log_dir)
    try:
        wait_for(lambda: server.poll() is not None or describe_status(client_port) == 404,
                 timeout=15, what=f"{SERVER} to listen")
        assert server.poll() is None, (log_dir / "server.log").read_text()
        camera.come_on()
        yield camera
    finally:
        if camera.pusher is not None:
            stop_process(camera.pusher)
        stop_process(server)


def segments(recorder: Recorder) -> list:
    return recorder.index.segments.between("cam-1", 0, 2**62)


def test_an_rtsp_camera_is_recorded_into_playable_segments_and_its_outage_is_a_gap(
    tmp_path: Path, rtsp_camera: RtspCamera,
    make_recorder: Callable[..., Recorder], events: EventLog,
) -> None:
    config = recorder_config(tmp_path, [
        {"id": "cam-1", "url": rtsp_camera.url, "rtsp_transport": "udp", "read_timeout_s": 5},
    ])
    recorder = make_recorder(config)
    status = recorder.supervisors["cam-1"].status

    argv = wait_for(lambda: ffmpeg_argv(recorder), what="ffmpeg's command line")
    at = argv.index(b"-rtsp_transport")
    assert argv[at:at + 4] == [b"-rtsp_transport", b"udp", b"-timeout", b"5000000"]
    wait_for(lambda: len(segments(recorder)) >= 3, what="three closed RTSP segments")
    for segment in segments(recorder):
        info = probe(recorder.storage_dir / segment.path)
        assert video_codec(info) == "h264" and video_packets(info) > 0, segment.path
    same_run = [s for s in segments(recorder) if s.run == segments(recorder)[-1].run]
    for earlier, later in zip(same_run, same_run[1:], strict=False):
        assert later.start_ms == earlier.end_ms

    rtsp_camera.go_dark()
    # RTP over UDP just stops: first no data (stalled), then the server answers 404 (offline).
    wait_for(lambda: status.state is CameraState.OFFLINE, what="the camera to be seen offline")
    gap = recorder.index.gaps.current("cam-1")
    assert gap is not None and gap.cause == GapCause.CAMERA_OFFLINE
    assert gap.detail is not None and "404" in gap.detail
    last_footage_ms = segments(recorder)[-1].end_ms
    outage = [g for g in recorder.index.gaps.between("cam-1", 0, 2**62)
              if g.start_ms >= last_footage_ms]
    assert outage and outage[0].cause in (GapCause.STALLED, GapCause.CAMERA_OFFLINE)

    before = len(segments(recorder))
    rtsp_camera.come_on()
    wait_for(lambda: len(segments(recorder)) > before + 1 and recorder.index.gaps.current("cam-1") is None,
             what="footage after the camera is back")
    for segment in segments(recorder)[before:]:
        assert video_packets(probe(recorder.storage_dir / segment.path)) > 0, segment.path
    closed = [g for g in recorder.index.gaps.between("cam-1", 0, 2**62) if g.id == gap.id]
    assert closed[0].end_ms is not None and closed[0].end_ms > closed[0].start_ms
    # One outage, one new ffmpeg: while the server answered 404 the camera was asked, not restarted.
    assert status.restarts == 1
    states = [e["state"] for e in events.of("recorder.camera_state")]
    assert "offline" in states and states[-1] == "recording"
