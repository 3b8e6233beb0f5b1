"""Recording real streams: test-pattern cameras served over TCP, recorded by ffmpeg stream copy."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge.camera_recorder.index import GapCause
from edge.camera_recorder.service import Recorder
from edge.camera_recorder.supervisor import CameraState
from edge.camera_recorder.testsource import TestPatternCamera, encode_test_clip

from .conftest import EventLog, ffmpeg_argv, recorder_config, wait_for
from .media import probe, video_codec, video_packets

SEGMENT_S = 2


def one_camera(tmp_path: Path, camera: TestPatternCamera, **settings: object) -> object:
    return recorder_config(
        tmp_path, [{"id": "cam-1", "url": camera.url, "read_timeout_s": 5}], **settings
    )


def segments(recorder: Recorder, camera: str = "cam-1") -> list:
    return recorder.index.segments.between(camera, 0, 2**62)


def test_segments_appear_are_indexed_durably_and_play(
    tmp_path: Path, make_camera: Callable[[], TestPatternCamera],
    make_recorder: Callable[..., Recorder], events: EventLog,
) -> None:
    recorder = make_recorder(one_camera(tmp_path, make_camera()))

    wait_for(lambda: len(segments(recorder)) >= 3, what="three closed segments")

    found = segments(recorder)
    for segment in found:
        path = recorder.storage_dir / segment.path
        assert path.stat().st_size == segment.bytes > 0
        info = probe(path)
        assert video_codec(info) == "h264" and video_packets(info) > 0
    # Consecutive segments of one run meet exactly: no false gaps, no overlaps.
    same_run = [s for s in found if s.run == found[-1].run]
    for earlier, later in zip(same_run, same_run[1:], strict=False):
        assert later.start_ms == earlier.end_ms
    assert 1_000 <= found[1].end_ms - found[1].start_ms <= 3_000
    recorder.report_coverage()
    coverage = events.of("recorder.coverage")
    assert coverage and coverage[0]["camera"] == "cam-1" and coverage[0]["segments"] >= 3


@pytest.fixture
def intra_camera(tmp_path: Path) -> Iterator[TestPatternCamera]:
    """A camera whose every frame is a keyframe, so a cut waits for no keyframe."""
    camera = TestPatternCamera(encode_test_clip(tmp_path / "intra.ts", gop_s=0.1)).start()
    yield camera
    camera.stop()


def test_recording_is_stream_copy_into_mpegts_segments_on_the_clock(
    tmp_path: Path, intra_camera: TestPatternCamera, make_recorder: Callable[..., Recorder],
) -> None:
    recorder = make_recorder(one_camera(tmp_path, intra_camera))
    argv = wait_for(lambda: ffmpeg_argv(recorder), what="ffmpeg's command line")
    assert argv[argv.index(b"-c"):argv.index(b"-c") + 2] == [b"-c", b"copy"]
    assert b"-segment_atclocktime" in argv and b"mpegts" in argv
    assert not any(b"lib" in arg and b"264" in arg for arg in argv)  # no encoder anywhere
    assert argv[argv.index(b"-segment_time") + 1] == str(SEGMENT_S).encode()
    wait_for(lambda: len(segments(recorder)) >= 3, what="three segments")
    # Cut on the clock: a segment opened after a cut is named in the second of a multiple
    # of segment_s, whatever second the recorder started in. ffmpeg cuts at the first
    # keyframe after the multiple: with a keyframe a second, that is anywhere in the next
    # second, and a cut due 15 ms before the second ends was seen named after the next
    # one. With a keyframe in every frame the cut waits a frame, not a second.
    later = [s for s in segments(recorder)[1:] if s.run == segments(recorder)[0].run]
    seconds = [int(Path(s.path).name[13:15]) for s in later]
    assert any(second % SEGMENT_S == 0 for second in seconds), seconds


def test_a_camera_going_dark_is_a_gap_with_its_cause_and_a_counted_reconnect(
    tmp_path: Path, make_camera: Callable[[], TestPatternCamera],
    make_recorder: Callable[..., Recorder], events: EventLog,
) -> None:
    camera = make_camera()
    recorder = make_recorder(one_camera(tmp_path, camera))
    status = recorder.supervisors["cam-1"].status
    wait_for(lambda: len(segments(recorder)) >= 2, what="recording")

    camera.go_dark()
    wait_for(lambda: status.state is CameraState.OFFLINE, what="the camera to be seen offline")
    gap = recorder.index.gaps.current("cam-1")
    assert gap is not None and gap.cause == GapCause.CAMERA_OFFLINE
    before = len(segments(recorder))
    camera.come_back()
    wait_for(lambda: len(segments(recorder)) > before + 1, what="footage after the camera is back")

    assert recorder.index.gaps.current("cam-1") is None
    closed = [g for g in recorder.index.gaps.between("cam-1", 0, 2**62) if g.id == gap.id]
    assert closed[0].end_ms is not None and closed[0].end_ms > closed[0].start_ms
    assert status.restarts >= 1 and status.restarts_last_hour() >= 1
    states = [e["state"] for e in events.of("recorder.camera_state")]
    assert "offline" in states and states[-1] == "recording"
    recorder.report_health()
    report = events.of("recorder.health")[-1]
    health = report["cameras"][0]
    assert health["state"] == "recording" and health["bitrate_bps"] > 0
    assert health["restarts_1h"] >= 1 and health["gaps_24h"] >= 1
    assert report["disk"]["used_bytes"] == health["bytes"] > 0


def test_a_frozen_camera_is_detected_within_two_segment_lengths_and_recovers(
    tmp_path: Path, make_camera: Callable[[], TestPatternCamera],
    make_recorder: Callable[..., Recorder],
) -> None:
    camera = make_camera()
    recorder = make_recorder(one_camera(tmp_path, camera, stall_after_s=2.0))
    status = recorder.supervisors["cam-1"].status
    wait_for(lambda: len(segments(recorder)) >= 1 and status.state is CameraState.RECORDING,
             what="recording")

    camera.freeze()  # TCP connection open, no data: ffmpeg alone would wait forever
    wait_for(lambda: status.state is CameraState.STALLED, what="the stall to be noticed")
    silent_s = float(status.detail.split("no data for ")[1].split(" s")[0])
    assert silent_s < 2 * SEGMENT_S
    camera.thaw()
    wait_for(lambda: status.state is CameraState.RECORDING and recorder.index.gaps.current("cam-1") is None,
             what="recording again")
    causes = [g.cause for g in recorder.index.gaps.between("cam-1", 0, 2**62)]
    assert GapCause.STALLED.value in causes


def test_an_ffmpeg_that_hangs_is_killed_and_replaced(
    tmp_path: Path, make_camera: Callable[[], TestPatternCamera],
    make_recorder: Callable[..., Recorder],
) -> None:
    recorder = make_recorder(one_camera(tmp_path, make_camera()))
    supervisor = recorder.supervisors["cam-1"]
    wait_for(lambda: supervisor.status.state is CameraState.RECORDING, what="recording")
    hung = supervisor.status.pid
    assert hung is not None

    os.kill(hung, signal.SIGSTOP)

    wait_for(lambda: supervisor.status.pid not in (None, hung), what="a new ffmpeg")
    assert not Path(f"/proc/{hung}").exists()  # killed and reaped, not left behind
    count = len(segments(recorder))
    wait_for(lambda: len(segments(recorder)) > count, what="segments from the new ffmpeg")
    causes = [g.cause for g in recorder.index.gaps.between("cam-1", 0, 2**62)]
    assert GapCause.STALLED.value in causes


def test_each_camera_has_its_own_ffmpeg_and_its_own_folder(
    tmp_path: Path, make_camera: Callable[[], TestPatternCamera],
    make_recorder: Callable[..., Recorder],
) -> None:
    one, two = make_camera(), make_camera()
    config = recorder_config(
        tmp_path, [{"id": "cam-1", "url": one.url}, {"id": "cam-2", "url": two.url}]
    )
    recorder = make_recorder(config)
    wait_for(lambda: all(len(segments(recorder, c)) >= 2 for c in ("cam-1", "cam-2")),
             what="both cameras recording")
    pids = {s.status.pid for s in recorder.supervisors.values()}
    assert len(pids) == 2 and None not in pids
    two.go_dark()
    wait_for(lambda: recorder.supervisors["cam-2"].status.state is CameraState.OFFLINE,
             what="cam-2 offline")
    count = len(segments(recorder, "cam-1"))
    wait_for(lambda: len(segments(recorder, "cam-1")) > count, what="cam-1 carrying on")
    assert recorder.supervisors["cam-1"].status.state is CameraState.RECORDING


def test_a_segment_that_cannot_be_written_is_a_write_failure_gap_and_recording_resumes(
    tmp_path: Path, make_camera: Callable[[], TestPatternCamera],
    make_recorder: Callable[..., Recorder],
) -> None:
    recorder = make_recorder(one_camera(tmp_path, make_camera()))
    wait_for(lambda: len(segments(recorder)) >= 1, what="recording")
    camera_dir = recorder.storage_dir / "cam-1"
    for folder in camera_dir.iterdir():
        if folder.name.isdigit():
            for file in folder.iterdir():
                file.unlink()
            folder.rmdir()
            folder.write_text("not a folder")  # ffmpeg cannot open its next segment here

    wait_for(
        lambda: any(g.cause == GapCause.WRITE_FAILURE
                    for g in recorder.index.gaps.between("cam-1", 0, 2**62)),
        what="a write failure gap",
    )
    for folder in camera_dir.iterdir():
        if folder.name.isdigit() and folder.is_file():
            folder.unlink()
    count = len(segments(recorder))
    wait_for(lambda: len(segments(recorder)) > count + 1, what="recording to resume")
