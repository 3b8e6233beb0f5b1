"""A recorder killed with -9 mid-segment, then restarted: index and disk agree, little is lost."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from edge.camera_recorder.config import RecorderConfig
from edge.camera_recorder.index import FootageIndex, GapCause
from edge.camera_recorder.ingest import MIN_PLAYABLE_BYTES
from edge.camera_recorder.service import Recorder
from edge.camera_recorder.testsource import TestPatternCamera
from spine.config import load_config
from tests.support.processes import HallProcess

from .conftest import wait_for
from .media import probe, video_packets


def write_config(tmp_path: Path, url: str) -> Path:
    data = tmp_path / "data"
    path = tmp_path / "recorder.toml"
    path.write_text(
        f"""
data_dir = "{data}"

[device]
id = "rec-1"
hall = "hall-1"
kind = "recorder"

[broker]
port = 9

[outbox]
path = "{data}/outbox.sqlite"

[recorder]
segment_s = 2
restart_min_s = 0.3
restart_max_s = 2
stall_after_s = 2.5
min_free_bytes = 0

[[cameras]]
id = "cam-1"
url = "{url}"
read_timeout_s = 5
"""
    )
    return path


def ffmpeg_pids_writing(storage: Path) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if str(storage).encode() in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids


def files_on_disk(storage: Path) -> set[str]:
    return {str(p.relative_to(storage)) for p in storage.rglob("*.ts")}


def test_a_recorder_killed_mid_segment_loses_at_most_the_open_segment(
    tmp_path: Path, make_camera: Callable[[], TestPatternCamera],
    make_recorder: Callable[..., Recorder],
) -> None:
    camera = make_camera()
    config_path = write_config(tmp_path, camera.url)
    config = load_config(RecorderConfig, config_path)
    storage = config.storage_dir
    process = HallProcess("recorder", ["recorder", "run", "--config", str(config_path)], tmp_path)
    process.start()
    try:
        wait_for(config.index_path.exists, what="the index to be created")
        index = FootageIndex(config.index_path)
        wait_for(lambda: index.cameras.totals()[1] >= 2, what="two segments before the crash")

        def open_segment() -> Path | None:
            for path in sorted(storage.rglob("*.ts"), reverse=True):
                relative = str(path.relative_to(storage))
                if not index.segments.has_path(relative) and path.stat().st_size > 4 * MIN_PLAYABLE_BYTES:
                    return path
            return None

        half_written = wait_for(open_segment, what="a segment half written")
        before_crash = index.segments.last("cam-1")
        index.close()
        assert ffmpeg_pids_writing(storage), "ffmpeg should be recording"
        process.kill()
        on_disk_at_crash = {
            str(p.relative_to(storage)): p.stat().st_size for p in storage.rglob("*.ts")
        }
    finally:
        process.kill()
    # ffmpeg dies with its recorder: a restarted recorder never records beside an orphan.
    wait_for(lambda: not ffmpeg_pids_writing(storage), what="ffmpeg to die with the recorder")
    assert "Traceback" not in process.log()

    recorder = make_recorder(config)

    # Everything ffmpeg had written is indexed, the half-written segment included; only
    # an open segment too short to hold a picture may be dropped.
    indexed_now = {s.path for s in recorder.index.segments.between("cam-1", 0, 2**62)}
    assert str(half_written.relative_to(storage)) in indexed_now
    lost = {p for p, size in on_disk_at_crash.items() if p not in indexed_now}
    assert all(on_disk_at_crash[p] < MIN_PLAYABLE_BYTES for p in lost), lost
    assert half_written.stat().st_size % 188 == 0  # cut back to whole packets
    assert video_packets(probe(half_written)) > 0  # and it plays
    causes = [g.cause for g in recorder.index.gaps.between("cam-1", before_crash.end_ms, 2**62)]
    assert GapCause.RECORDER_DOWN in causes  # the time it was down is a gap of its own
    wait_for(lambda: recorder.index.gaps.current("cam-1") is None, what="recording after restart")
    recorder.stop()

    check = FootageIndex(config.index_path)
    try:
        indexed = {s.path for s in check.segments.between("cam-1", 0, 2**62)}
        assert files_on_disk(storage) == indexed
        (down,) = [g for g in check.gaps.between("cam-1", 0, 2**62)
                   if g.cause == GapCause.RECORDER_DOWN and g.end_ms is not None]
        assert down.start_ms >= before_crash.end_ms
    finally:
        check.close()
    # With no gateway reachable (port 9), the evidence waited in the outbox.
    outbox = sqlite3.connect(config.outbox.path)
    try:
        types = {row[0] for row in outbox.execute("SELECT type FROM outbox")}
    finally:
        outbox.close()
    assert {"recorder.camera_state", "recorder.reconciled"} <= types
