"""A recorder killed with -9 mid-segment, then restarted: index and disk agree, little is lost."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from edge.camera_recorder.camera import ClosedSegment
from edge.camera_recorder.config import RecorderConfig
from edge.camera_recorder.index import FootageIndex, GapCause, NewSegment
from edge.camera_recorder.ingest import MIN_PLAYABLE_BYTES, SegmentIngest
from edge.camera_recorder.reconcile import ALIVE_KEY
from edge.camera_recorder.service import Recorder
from edge.camera_recorder.testsource import TestPatternCamera
from spine.clock import SystemClock
from spine.config import load_config
from tests.support.processes import HallProcess

from .conftest import EventLog, wait_for
from .footage import segment_name
from .gst_camera import GstRtspCamera
from .media import duration_s, pes_packet, probe, video_packets

HOUR_MS = 3_600_000
FRAME_TOLERANCE_MS = 150  # a frame or two of the test cameras (10 and 15 fps)
PLACEMENT_TOLERANCE_MS = 1_000


def write_config(tmp_path: Path, url: str, *, segment_s: int = 2) -> Path:
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
segment_s = {segment_s}
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


def test_a_half_written_segment_claims_only_its_media_however_long_the_recorder_was_down(
    tmp_path: Path, tcp_rtsp_camera: GstRtspCamera, make_recorder: Callable[..., Recorder],
) -> None:
    # ffmpeg writes a segment file in 256 KB blocks: long segments of a 1.5 Mbit/s camera
    # leave a half-written file with footage in it most of the time.
    config_path = write_config(tmp_path, tcp_rtsp_camera.url, segment_s=6)  # RTSP/TCP, the default
    config = load_config(RecorderConfig, config_path)
    storage = config.storage_dir
    segment_ms = config.recorder.segment_s * 1000
    process = HallProcess("recorder", ["recorder", "run", "--config", str(config_path)], tmp_path)
    process.start()
    try:
        wait_for(config.index_path.exists, what="the index to be created")
        index = FootageIndex(config.index_path)
        wait_for(lambda: index.cameras.totals()[1] >= 2, what="two segments before the crash")

        def open_segment() -> Path | None:
            for path in sorted(storage.rglob("*.ts"), reverse=True):
                if not index.segments.has_path(str(path.relative_to(storage))):
                    return path if path.stat().st_size > 4 * MIN_PLAYABLE_BYTES else None
            return None

        half_written = wait_for(open_segment, what="a segment half written")
        index.close()
        killed_ms = time.time_ns() // 1_000_000
        process.kill()
    finally:
        process.kill()
    wait_for(lambda: not ffmpeg_pids_writing(storage), what="ffmpeg to die with the recorder")
    # The power stays off longer than a segment: the outage is the scenario, not a wait.
    wait_for(lambda: time.time_ns() // 1_000_000 >= killed_ms + 1.5 * segment_ms,
             what="a downtime longer than a segment")
    restarted_ms = time.time_ns() // 1_000_000

    recorder = make_recorder(config)

    relative = str(half_written.relative_to(storage))
    (partial,) = [s for s in recorder.index.segments.between("cam-1", 0, 2**62) if s.path == relative]
    assert partial.partial
    media_ms = duration_s(probe(half_written)) * 1000
    claimed_ms = partial.end_ms - partial.start_ms
    assert claimed_ms <= segment_ms
    assert abs(claimed_ms - media_ms) <= FRAME_TOLERANCE_MS, (claimed_ms, media_ms)
    # Nothing was recorded after the crash. Segments are placed on the wall clock to about a
    # second (file names have whole seconds; under load the supervisor sees a cut late),
    # and the partial segment starts where the one before it was placed.
    assert partial.end_ms <= killed_ms + PLACEMENT_TOLERANCE_MS
    (down,) = [g for g in recorder.index.gaps.between("cam-1", partial.end_ms, 2**62)
               if g.cause == GapCause.RECORDER_DOWN]
    assert down.start_ms == partial.end_ms
    wait_for(lambda: recorder.index.gaps.current("cam-1") is None, what="recording after restart")
    (down,) = [g for g in recorder.index.gaps.between("cam-1", 0, 2**62) if g.id == down.id]
    assert down.end_ms is not None and down.end_ms >= restarted_ms
    dark = recorder.index.segments.between("cam-1", partial.end_ms, restarted_ms)
    assert dark == [], "footage claimed while the recorder was down"


def test_a_crash_hours_ago_leaves_hours_of_gap_and_seconds_of_footage(
    tmp_path: Path, test_clip: Path, make_recorder: Callable[..., Recorder], events: EventLog,
) -> None:
    """The recorder died three hours ago in the middle of a segment; it starts again now."""
    config = load_config(
        RecorderConfig, write_config(tmp_path, "rtsp://127.0.0.1:9/cam1", segment_s=10)
    )
    storage = config.storage_dir
    crashed_ms = (time.time_ns() // 1_000_000 - 3 * HOUR_MS) // 1000 * 1000
    clip_ms = round(duration_s(probe(test_clip)) * 1000)
    closed_start = crashed_ms - clip_ms - 3_000
    index = FootageIndex(config.index_path)
    try:
        closed = copy_segment(test_clip, storage, closed_start, run=7)
        index.segments.add(
            NewSegment("cam-1", closed_start, closed_start + clip_ms, closed, test_clip.stat().st_size, 7),
            closed_start + clip_ms,
        )
        index.meta.set(ALIVE_KEY, str(crashed_ms - 5_000))
    finally:
        index.close()
    # The open segment, cut by the power mid-packet: about half the clip.
    opened_ms = closed_start + clip_ms
    half = test_clip.read_bytes()
    half = half[: len(half) // 2 // 188 * 188 + 100]
    relative = copy_segment(test_clip, storage, opened_ms, run=7, content=half)
    trimmed = tmp_path / "trimmed.ts"
    trimmed.write_bytes(half[: len(half) // 188 * 188])
    media_ms = duration_s(probe(trimmed)) * 1000

    recorder = make_recorder(config, record=False, background=False)

    (partial,) = [s for s in recorder.index.segments.between("cam-1", 0, 2**62) if s.path == relative]
    assert partial.partial and partial.start_ms == opened_ms
    assert abs(partial.end_ms - partial.start_ms - media_ms) <= FRAME_TOLERANCE_MS
    down = recorder.index.gaps.current("cam-1")
    assert down is not None and down.cause == GapCause.RECORDER_DOWN
    assert down.start_ms == partial.end_ms  # the three hours are a gap, not footage
    recorder.report_coverage()
    (coverage,) = events.of("recorder.coverage")
    covered_ms = sum(end - start for start, end in coverage["ranges"])
    assert covered_ms <= clip_ms + media_ms + FRAME_TOLERANCE_MS, coverage


def copy_segment(
    clip: Path, storage: Path, start_ms: int, *, run: int, content: bytes | None = None
) -> str:
    """A segment file named as ffmpeg names it; returns its path relative to the storage."""
    name = segment_name(start_ms, run)
    relative = f"cam-1/{name[:8]}/{name}"
    path = storage / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if content is not None else clip.read_bytes())
    return relative


def test_a_half_written_segment_never_claims_more_than_a_segment(tmp_path: Path) -> None:
    """Timestamps that jump (a camera that reset its clock) do not stretch the claim."""
    segment_s = 10
    opened_ms = (time.time_ns() // 1_000_000 - HOUR_MS) // 1000 * 1000
    name = segment_name(opened_ms, 3)
    path = tmp_path / "footage" / "cam-1" / name[:8] / name
    path.parent.mkdir(parents=True)
    frames = [pes_packet(n * 9_000) for n in range(20)] + [pes_packet(3600 * 90_000)]
    path.write_bytes(b"".join(frames) + b"\x47\x00")  # torn last packet, as a power cut leaves it
    index = FootageIndex(tmp_path / "index.sqlite")
    try:
        ingest = SegmentIngest(index.segments, tmp_path / "footage", "cam-1", SystemClock(), segment_s)
        segment = ingest.leftover(path)
        assert segment is not None and segment.partial
        assert (segment.start_ms, segment.end_ms) == (opened_ms, opened_ms + segment_s * 1000)
    finally:
        index.close()


def test_a_segment_emptied_by_the_next_one_of_the_same_second_is_not_indexed(tmp_path: Path) -> None:
    """ffmpeg names segments by the second they open in: a burst of held-back frames can cut
    twice in one second, and the second file, of the same name, empties the first before its
    list line is read. The index claims none of the lost footage, and the file's next line
    indexes what it then holds."""
    opened_ms = (time.time_ns() // 1_000_000 - HOUR_MS) // 1000 * 1000
    name = segment_name(opened_ms, 1)
    path = tmp_path / "footage" / "cam-1" / name[:8] / name
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")  # emptied by the next segment's open
    index = FootageIndex(tmp_path / "index.sqlite")
    try:
        ingest = SegmentIngest(index.segments, tmp_path / "footage", "cam-1", SystemClock(), 60)
        assert ingest.closed(ClosedSegment(name, 0.0, 0.6)) is None
        assert index.segments.last("cam-1") is None

        path.write_bytes(b"".join(pes_packet(n * 9_000) for n in range(20)))
        segment = ingest.closed(ClosedSegment(name, 0.6, 2.6))
        assert segment is not None and segment.bytes == path.stat().st_size
        assert segment.end_ms - segment.start_ms == 2_000
    finally:
        index.close()
