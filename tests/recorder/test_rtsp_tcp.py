"""Recording a real RTSP camera over TCP, the recorder's default transport.

The camera is GStreamer's RTSP server serving RTP interleaved on the RTSP
connection and refusing UDP (see `gst_camera.py`), so everything recorded
here went over TCP.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from edge.camera_recorder.config import CameraSettings, RecorderSettings
from edge.camera_recorder.index import GapCause, Segment
from edge.camera_recorder.probe import describe
from edge.camera_recorder.segments import RUNS_DIR
from edge.camera_recorder.service import Recorder
from edge.camera_recorder.supervisor import CameraState

from .conftest import EventLog, ffmpeg_argv, recorder_config, wait_for
from .gst_camera import GstRtspCamera
from .media import probe, video_codec, video_packets

SHIPPED = RecorderSettings()  # the backoff a recorder ships with, not the tests' quick one
OUTAGE_S = 20.0
RESUME_WITHIN_MS = 3_000  # "footage within about 2 s of the camera's return", plus a loaded CI
PLACEMENT_TOLERANCE_MS = 1_000  # segment file names have whole seconds


def segments(recorder: Recorder) -> list[Segment]:
    return recorder.index.segments.between("cam-1", 0, 2**62)


def tcp_camera_config(tmp_path: Path, camera: GstRtspCamera, **settings: object) -> object:
    # No rtsp_transport: the default (TCP) is what is under test.
    return recorder_config(
        tmp_path, [{"id": "cam-1", "url": camera.url, "read_timeout_s": 5}], **settings
    )


def test_the_default_transport_records_an_rtsp_camera_over_tcp(
    tmp_path: Path, tcp_rtsp_camera: GstRtspCamera, make_recorder: Callable[..., Recorder],
) -> None:
    recorder = make_recorder(tcp_camera_config(tmp_path, tcp_rtsp_camera))

    argv = wait_for(lambda: ffmpeg_argv(recorder), what="ffmpeg's command line")
    at = argv.index(b"-rtsp_transport")
    assert argv[at:at + 2] == [b"-rtsp_transport", b"tcp"]
    wait_for(lambda: len(segments(recorder)) >= 3, what="three closed RTSP/TCP segments")
    for segment in segments(recorder):
        info = probe(recorder.storage_dir / segment.path)
        assert video_codec(info) == "h264" and video_packets(info) > 0, segment.path
    same_run = [s for s in segments(recorder) if s.run == segments(recorder)[-1].run]
    for earlier, later in zip(same_run, same_run[1:], strict=False):
        assert later.start_ms == earlier.end_ms
    assert recorder.index.gaps.current("cam-1") is None


def ffmpeg_log(recorder: Recorder) -> list[str]:
    path = recorder.storage_dir / "cam-1" / RUNS_DIR / "ffmpeg.log"
    return [line for line in path.read_text(errors="replace").splitlines() if line.strip()]


def test_a_camera_outage_is_a_gap_that_says_why_and_footage_resumes_within_seconds_of_its_return(
    tmp_path: Path, tcp_rtsp_camera: GstRtspCamera,
    make_recorder: Callable[..., Recorder], events: EventLog,
) -> None:
    config = tcp_camera_config(
        tmp_path, tcp_rtsp_camera,
        restart_min_s=SHIPPED.restart_min_s, restart_max_s=SHIPPED.restart_max_s,
    )
    recorder = make_recorder(config)
    status = recorder.supervisors["cam-1"].status
    wait_for(lambda: len(segments(recorder)) >= 2 and status.state is CameraState.RECORDING,
             what="recording")
    started_up = ffmpeg_log(recorder)  # what ffmpeg said while connecting: not why a run ends
    run_before = status.run
    assert run_before is not None

    tcp_rtsp_camera.go_dark()
    wait_for(lambda: status.state is CameraState.OFFLINE, what="the camera to be seen offline")
    gap = recorder.index.gaps.current("cam-1")
    assert gap is not None and gap.cause == GapCause.CAMERA_OFFLINE
    assert gap.detail is not None and "stream ended" in gap.detail, gap.detail
    assert not [line for line in started_up if line in gap.detail], gap.detail
    dark_ms = tcp_rtsp_camera.dark_since_ms
    assert dark_ms is not None
    wait_for(lambda: recorder.clock.wall_ms() >= dark_ms + OUTAGE_S * 1000,
             timeout=OUTAGE_S + 10, what=f"a {OUTAGE_S:g} s outage")
    before = len(segments(recorder))

    tcp_rtsp_camera.come_back()
    back_ms = tcp_rtsp_camera.answering_since_ms
    assert back_ms is not None
    wait_for(lambda: len(segments(recorder)) > before and recorder.index.gaps.current("cam-1") is None,
             what="footage after the camera is back")

    (closed,) = [g for g in recorder.index.gaps.between("cam-1", 0, 2**62) if g.id == gap.id]
    assert closed.end_ms is not None
    resumed_after_ms = closed.end_ms - back_ms
    assert resumed_after_ms <= RESUME_WITHIN_MS, f"footage resumed {resumed_after_ms} ms after the camera"
    # It began when the camera went dark, to the second the index places segments by.
    assert abs(closed.start_ms - dark_ms) <= PLACEMENT_TOLERANCE_MS, (closed.start_ms, dark_ms)
    # While the camera was gone it was asked, not hammered: one ffmpeg, started once it answered.
    assert status.run == run_before + 1, f"{status.run - run_before} ffmpeg runs for one outage"
    for segment in segments(recorder)[before:]:
        assert video_packets(probe(recorder.storage_dir / segment.path)) > 0, segment.path
    states = [e["state"] for e in events.of("recorder.camera_state")]
    assert "offline" in states and states[-1] == "recording"


def test_an_ffmpeg_killed_while_the_camera_is_fine_is_not_a_camera_outage(
    tmp_path: Path, tcp_rtsp_camera: GstRtspCamera,
    make_recorder: Callable[..., Recorder], events: EventLog,
) -> None:
    recorder = make_recorder(tcp_camera_config(tmp_path, tcp_rtsp_camera))
    status = recorder.supervisors["cam-1"].status
    wait_for(lambda: len(segments(recorder)) >= 2 and status.state is CameraState.RECORDING,
             what="recording")
    killed = status.pid
    assert killed is not None
    footage_before = segments(recorder)[-1].end_ms
    states_before = len(events.of("recorder.camera_state"))

    os.kill(killed, signal.SIGKILL)  # the OOM killer, or a technician's kill -9

    wait_for(lambda: status.pid not in (None, killed), what="a new ffmpeg")
    count = len(segments(recorder))
    wait_for(lambda: len(segments(recorder)) > count and recorder.index.gaps.current("cam-1") is None,
             what="footage from the new ffmpeg")
    gaps = [g for g in recorder.index.gaps.between("cam-1", footage_before, 2**62)
            if g.start_ms >= footage_before]
    assert gaps, "the kill left a hole in the footage: it must be a gap"
    assert all(g.cause != GapCause.CAMERA_OFFLINE for g in gaps), gaps
    (gap,) = gaps
    assert gap.cause == GapCause.RECORDER_DOWN
    assert gap.detail is not None and "SIGKILL" in gap.detail, gap.detail
    states = [e["state"] for e in events.of("recorder.camera_state")[states_before:]]
    assert "offline" not in states and states[-1] == "recording", states


def test_a_probe_says_whether_the_camera_would_serve_its_stream(tcp_rtsp_camera: GstRtspCamera) -> None:
    camera = CameraSettings(id="cam-1", url=tcp_rtsp_camera.url)
    assert describe(camera, 2.0).up
    elsewhere = describe(CameraSettings(id="cam-1", url=tcp_rtsp_camera.url.replace("cam1", "cam9")), 2.0)
    assert not elsewhere.up and "404" in elsewhere.detail
    tcp_rtsp_camera.freeze()  # connections are accepted by the kernel, nobody answers
    try:
        hung = describe(camera, 0.5)
    finally:
        tcp_rtsp_camera.thaw()
    assert not hung.up and "no answer" in hung.detail
    tcp_rtsp_camera.go_dark()
    gone = describe(camera, 0.5)
    assert not gone.up and "no answer" in gone.detail


def test_a_probe_never_sends_the_cameras_password() -> None:
    """A camera asking for a login is there (ffmpeg has the login); the probe does not send it."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        heard: list[bytes] = []

        def answer() -> None:
            connection, _ = server.accept()
            with connection:
                heard.append(connection.recv(4096))
                connection.sendall(b'RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\n'
                                   b'WWW-Authenticate: Digest realm="cam"\r\n\r\n')

        thread = threading.Thread(target=answer)
        thread.start()
        camera = CameraSettings(id="cam-1", url=f"rtsp://127.0.0.1:{port}/Streaming/101",
                                username="operator7", password="s3cret-Pa55")
        result = describe(camera, 2.0)
        thread.join(timeout=10)
    assert result.up and "401" in result.detail
    assert heard and heard[0].startswith(f"DESCRIBE rtsp://127.0.0.1:{port}/Streaming/101 RTSP/1.0".encode())
    assert b"s3cret" not in heard[0] and b"operator7" not in heard[0]
