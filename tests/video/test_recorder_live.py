"""The recorder's live view: the same ffmpeg, stream copy, and footage that never depends on it."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.camera_recorder.ffmpeg import ONE_OFF
from edge.camera_recorder.live import LiveOutput, hls_slave, tee_outputs, tee_slave
from edge.camera_recorder.service import Recorder
from edge.camera_recorder.testsource import TestPatternCamera
from tests.support import wait_until
from tests.video.conftest import DEADLINE_S, recorder_settings

PDT = re.compile(r"#EXT-X-PROGRAM-DATE-TIME:(\S+)")


class Events:
    def record(self, type: str, body: object) -> None:
        pass


def segments(recorder: Recorder, camera: str = "cam-1") -> list[object]:
    return list(recorder.index.segments.between(camera, 0, 2**62))


@pytest.fixture
def recorder_of(tmp_path: Path) -> Callable[[list[TestPatternCamera]], Recorder]:
    started: list[Recorder] = []

    def start(cameras: list[TestPatternCamera]) -> Recorder:
        recorder = Recorder(recorder_settings(tmp_path, cameras), events=Events())
        recorder.start()
        started.append(recorder)
        return recorder

    yield start  # type: ignore[misc]
    for recorder in started:
        recorder.stop()


def argv_of(recorder: Recorder, camera: str = "cam-1") -> list[str] | None:
    pid = recorder.supervisors[camera].status.pid
    if pid is None:
        return None
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return None
    return argv if "tee" in argv else None


def test_the_live_playlist_comes_from_the_recording_ffmpeg_by_stream_copy(
    make_cameras: Callable[[int], list[TestPatternCamera]],
    recorder_of: Callable[[list[TestPatternCamera]], Recorder],
) -> None:
    recorder = recorder_of(make_cameras(1))
    argv = wait_until(lambda: argv_of(recorder), DEADLINE_S, "the recording ffmpeg's command line")
    assert argv.count("-i") == 1, "one process, one input: the camera is read once"
    assert argv[argv.index("-c"):argv.index("-c") + 2] == ["-c", "copy"]
    assert not any("lib" in arg and "264" in arg for arg in argv), "no encoder anywhere"
    outputs = argv[argv.index("tee") + 1]
    assert "f=segment" in outputs and "f=hls" in outputs and "onfail=ignore" in outputs

    assert recorder.live is not None
    playlist = recorder.live.camera_dir("cam-1") / "index.m3u8"
    text = wait_until(lambda: playlist.exists() and ".ts" in (t := playlist.read_text()) and t,
                      DEADLINE_S, "the live playlist")
    assert "#EXT-X-TARGETDURATION:1" in text, "1 s live segments (a keyframe a second)"
    assert PDT.search(text) and "#EXT-X-ENDLIST" not in text
    names = [line for line in text.splitlines() if line.endswith(".ts")]
    assert all(re.fullmatch(r"r\d{6}-\d+\.ts", name) for name in names), names
    # Old live segments go: the folder holds a few seconds whatever the uptime.
    wait_until(lambda: len(segments(recorder)) >= 4, DEADLINE_S, "8 s of footage")
    assert len(list(playlist.parent.glob("*.ts"))) <= 8


def test_footage_keeps_recording_when_the_live_output_fails(
    make_cameras: Callable[[int], list[TestPatternCamera]],
    recorder_of: Callable[[list[TestPatternCamera]], Recorder],
) -> None:
    recorder = recorder_of(make_cameras(1))
    assert recorder.live is not None
    live = recorder.live.camera_dir("cam-1")
    wait_until(lambda: (live / "index.m3u8").exists(), DEADLINE_S, "the live playlist")
    pid = recorder.supervisors["cam-1"].status.pid
    shutil.rmtree(live)  # the tmpfs is gone, full, or a technician cleaned up
    before = len(segments(recorder))
    wait_until(lambda: len(segments(recorder)) >= before + 3, DEADLINE_S, "three more segments")
    assert recorder.supervisors["cam-1"].status.pid == pid, "the same ffmpeg records on"
    assert recorder.index.gaps.current("cam-1") is None


def test_tee_outputs_survive_paths_with_the_tee_muxers_special_characters(
    tmp_path: Path, pattern: Path,
) -> None:
    odd = tmp_path / "live:1" / "it's|x"
    odd.mkdir(parents=True)
    live = LiveOutput(odd, run=7, segment_s=1, segments=3)
    subprocess.run(["ffmpeg", *ONE_OFF, "-i", str(pattern), "-map", "0:v:0", "-c", "copy", "-f", "tee",
                    tee_outputs(tee_slave({"f": "mpegts"}, str(odd / "copy.ts")), hls_slave(live))],
                   check=True, timeout=60)
    assert (odd / "copy.ts").stat().st_size > 0
    assert live.playlist.exists() and list(odd.glob("r000007-*.ts"))
    with pytest.raises(ValueError, match="cannot take"):
        tee_slave({"f": "hls"}, "/srv/[x]/index.m3u8")
