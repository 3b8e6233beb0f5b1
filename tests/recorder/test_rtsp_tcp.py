"""Recording a real RTSP camera over TCP, the recorder's default transport.

The camera is GStreamer's RTSP server serving RTP interleaved on the RTSP
connection and refusing UDP (see `gst_camera.py`), so everything recorded
here went over TCP.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

from edge.camera_recorder.index import GapCause, Segment
from edge.camera_recorder.service import Recorder
from edge.camera_recorder.supervisor import CameraState

from .conftest import EventLog, recorder_config, wait_for
from .gst_camera import GstRtspCamera
from .media import probe, video_codec, video_packets


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
    status = recorder.supervisors["cam-1"].status

    pid = wait_for(lambda: status.pid, what="ffmpeg to start")
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
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
