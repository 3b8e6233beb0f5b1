"""Recording a real RTSP camera over TCP, the recorder's default transport.

The camera is GStreamer's RTSP server serving RTP interleaved on the RTSP
connection and refusing UDP (see `gst_camera.py`), so everything recorded
here went over TCP.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edge.camera_recorder.index import Segment
from edge.camera_recorder.service import Recorder

from .conftest import recorder_config, wait_for
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
