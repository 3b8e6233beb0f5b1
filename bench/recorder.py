"""Recorder benchmarks, each beside a naive baseline measured in the same run.

1. CPU per camera: the recorder stream-copying a 1080p25 H.264 test stream,
   against a recorder that re-encodes (as motion/motionEye do) and one that
   only decodes (as analysis-first NVRs do).
2. Retention and start-up with 1,000,000 indexed segments (21 cameras x ~33
   days of 60 s segments, one real file each): a prune pass and start-up
   reconciliation, against a directory walk (what NVRs without an index do)
   and an unindexed SQL scan.

`python -m bench.recorder [--segments N] [--seconds S]`; HALLWATCH_BENCH_DIR
picks the scratch folder (default: a temp dir on the same disk as /tmp).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from edge.camera_recorder.config import RecorderConfig
from edge.camera_recorder.index import FootageIndex
from edge.camera_recorder.index.schema import SCHEMA
from edge.camera_recorder.reconcile import ALIVE_KEY, reconcile
from edge.camera_recorder.service import Recorder
from edge.camera_recorder.testsource import TestPatternCamera, encode_test_clip
from spine.clock import SimulatedClock

CAMERAS = 21
SEGMENT_MS = 60_000
SEGMENT_BYTES = 30_000_000  # a 4 Mbit/s camera for a minute
CLK_TCK = os.sysconf("SC_CLK_TCK")


class _Sink:
    def record(self, type: str, body: object) -> None:
        pass


# --- 1. CPU per camera ----------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _measure(pid: int, seconds: float) -> float:
    """Share of one core `pid` used over `seconds` (after a warm-up)."""
    time.sleep(3)  # warm-up: probing and the first segment are not the steady state
    start_cpu, start = _cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)  # measuring over a fixed window is the point here
    return (_cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


def _wait_pid(recorder: Recorder, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        supervisor = recorder.supervisors["cam-1"]
        if supervisor.status.pid and supervisor.status.state.value == "recording":
            return supervisor.status.pid
        time.sleep(0.1)
    raise RuntimeError("the recorder did not start recording")


def _baseline(url: str, workdir: Path, args: list[str], seconds: float) -> float:
    workdir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-i", url, *args],
        cwd=workdir, stdin=subprocess.DEVNULL,
    )
    try:
        return _measure(process.pid, seconds)
    finally:
        process.kill()
        process.wait()


def bench_cpu(scratch: Path, seconds: float) -> None:
    print("encoding a 10 s 1080p25 H.264 test stream (4 Mbit/s, GOP 2 s) once...", flush=True)
    clip = encode_test_clip(
        scratch / "clip-1080p.ts", size="1920x1080", rate=25, seconds=10, gop_s=2.0,
        bitrate="4M",
    )
    camera = TestPatternCamera(clip).start()
    try:
        config = RecorderConfig.model_validate(
            {
                "device": {"id": "rec-bench", "hall": "bench", "kind": "recorder"},
                "outbox": {"path": str(scratch / "cpu" / "outbox.sqlite")},
                "data_dir": str(scratch / "cpu"),
                "recorder": {"segment_s": 60, "min_free_bytes": 0, "audit_per_minute": 0},
                "cameras": [{"id": "cam-1", "url": camera.url}],
            }
        )
        recorder = Recorder(config, events=_Sink())
        recorder.start()
        try:
            pid = _wait_pid(recorder)
            own_before = resource.getrusage(resource.RUSAGE_SELF)
            wall_before = time.monotonic()
            ours = _measure(pid, seconds)
            own_after = resource.getrusage(resource.RUSAGE_SELF)
            supervisor = (
                (own_after.ru_utime + own_after.ru_stime)
                - (own_before.ru_utime + own_before.ru_stime)
            ) / (time.monotonic() - wall_before)
        finally:
            recorder.stop()
        camera.stop()
        camera = TestPatternCamera(clip).start()
        time.sleep(1)  # the test camera's listener needs a moment before the next viewer
        transcode = _baseline(
            camera.url, scratch / "transcode",
            ["-c:v", "libx264", "-preset", "veryfast", "-f", "segment", "-segment_time", "60",
             "seg%03d.ts"],
            seconds,
        )
        camera.stop()
        camera = TestPatternCamera(clip).start()
        time.sleep(1)
        decode = _baseline(camera.url, scratch / "decode", ["-f", "null", "-"], seconds)
    finally:
        camera.stop()
    print(f"  hallwatch (ffmpeg stream copy) : {ours * 100:6.1f} % of one core per camera")
    print(f"  hallwatch supervisor (python)  : {supervisor * 100:6.1f} % of one core "
          "(this process, test camera excluded)")
    print(f"  baseline: re-encode (x264)     : {transcode * 100:6.1f} % of one core per camera")
    print(f"  baseline: decode only          : {decode * 100:6.1f} % of one core per camera")
    print(f"  21 cameras, stream copy        : {ours * 21 * 100:6.1f} % of one core (projected)")


# --- 2. prune and reconcile with a million segments ---------------------------------------


def _name(start_ms: int) -> str:
    return datetime.fromtimestamp(start_ms / 1000, UTC).strftime("%Y%m%dT%H%M%SZ") + "-r000001.ts"


def _files_dir(scratch: Path) -> Path:
    """Segment files on tmpfs when there is one: a million files in seconds, not minutes.

    tmpfs makes the directory-walk baseline faster than it would be on an SD
    card, so the comparison is conservative.
    """
    shm = Path("/dev/shm")
    if shm.is_dir() and os.statvfs(shm).f_favail > 2_000_000:
        return Path(tempfile.mkdtemp(prefix="hallwatch-bench-files-", dir=shm))
    return scratch / "footage"


def _build(scratch: Path, total: int, now_ms: int) -> tuple[RecorderConfig, int]:
    per_camera = total // CAMERAS
    first_ms = now_ms - per_camera * SEGMENT_MS
    first_ms -= first_ms % SEGMENT_MS
    config = RecorderConfig.model_validate(
        {
            "device": {"id": "rec-bench", "hall": "bench", "kind": "recorder"},
            "outbox": {"path": str(scratch / "outbox.sqlite")},
            "data_dir": str(scratch),
            "recorder": {"retention_days": 30, "min_free_bytes": 0, "prune_batch": 100_000,
                         "storage_dir": str(_files_dir(scratch))},
            "cameras": [{"id": f"cam-{n:02d}", "url": "tcp://127.0.0.1:9"}
                        for n in range(CAMERAS)],
        }
    )
    storage = config.storage_dir
    index = FootageIndex(config.index_path)
    connection = index.database.raw_connection()  # bulk load: one transaction, indexes and totals built after
    started = time.monotonic()
    for name in ("segments_by_camera", "segments_unheld", "segments_unheld_by_camera"):
        connection.execute(f"DROP INDEX {name}")
    for name in ("segments_added", "segments_removed", "segments_changed"):
        connection.execute(f"DROP TRIGGER {name}")
    connection.execute("BEGIN")
    for camera in range(CAMERAS):
        rows = []
        for n in range(per_camera):
            start = first_ms + n * SEGMENT_MS
            name = _name(start)
            rows.append((f"cam-{camera:02d}", start, start + SEGMENT_MS,
                         f"cam-{camera:02d}/{name[:8]}/{name}", SEGMENT_BYTES))
        connection.executemany(
            "INSERT INTO segments (camera, start_ms, end_ms, path, bytes, run) "
            "VALUES (?, ?, ?, ?, ?, 1)", rows,
        )
        for _, _, _, path, _ in rows:
            file = storage / path
            if not file.parent.is_dir():
                file.parent.mkdir(parents=True)
            os.close(os.open(file, os.O_CREAT | os.O_WRONLY, 0o644))
    connection.execute(
        "INSERT INTO cameras (id, bytes, segments) SELECT camera, sum(bytes), count(*) "
        "FROM segments GROUP BY camera"
    )
    connection.execute("COMMIT")
    connection.executescript(SCHEMA)  # the indexes and triggers again
    index.meta.set(ALIVE_KEY, str(now_ms))
    index.close()
    print(f"  built {per_camera * CAMERAS:,} segments (index + one file each) in "
          f"{time.monotonic() - started:.0f} s", flush=True)
    return config, per_camera * CAMERAS


def _half_written(frames: int = 25, packets_per_frame: int = 40) -> bytes:
    """What a crash leaves of a segment: a second of 25 fps video, its last packet torn.

    Only the packets that start a frame (a PES header with its PTS) matter to
    reconciliation, which reads the first and last timestamps.
    """
    filler = bytes([0x47, 0x01, 0x00, 0x10]).ljust(188, b"\xff")
    packets = []
    for frame in range(frames):
        pts = frame * 3_600  # 90 kHz
        stamp = bytes([0x21 | (pts >> 29 & 0x0E), pts >> 22 & 0xFF, 0x01 | (pts >> 14 & 0xFE),
                       pts >> 7 & 0xFF, 0x01 | (pts << 1 & 0xFE)])
        start = bytes([0x47, 0x41, 0x00, 0x10]) + b"\x00\x00\x01\xe0\x00\x00\x80\x80\x05" + stamp
        packets += [start.ljust(188, b"\xff"), *[filler] * (packets_per_frame - 1)]
    return b"".join(packets) + filler[:100]


def _naive_walk(storage: Path) -> list[tuple[float, str]]:
    """What an NVR without a time index does: walk the tree, stat everything, sort by age."""
    found = []
    for root, _dirs, files in os.walk(storage):
        for name in files:
            path = os.path.join(root, name)
            found.append((os.stat(path).st_mtime, path))
    found.sort()
    return found


def bench_prune_and_reconcile(scratch: Path, total: int) -> None:
    now_ms = 1_800_000_000_000
    print(f"building {total:,} indexed segments for {CAMERAS} cameras...", flush=True)
    config, built = _build(scratch, total, now_ms)
    clock = SimulatedClock(now_ms)
    disk = (10**15, 10**15)
    recorder = Recorder(config, events=_Sink(), clock=clock, disk=lambda: disk)
    started = time.monotonic()
    recorder.start(record=False, background=False)
    print(f"  start-up reconciliation (clean): {(time.monotonic() - started) * 1000:8.1f} ms")

    started = time.monotonic()
    first = recorder.prune_once()
    catch_up = time.monotonic() - started
    print(f"  prune, catching up {first.pruned:,} expired segments: {catch_up * 1000:8.1f} ms "
          f"({catch_up / max(1, first.pruned) * 1e6:.0f} us per segment, files included)")
    while recorder.prune_once().pruned:
        pass
    timings = []
    for _ in range(5):
        clock.advance(SEGMENT_MS)
        started = time.monotonic()
        result = recorder.prune_once()
        timings.append(time.monotonic() - started)
    print(f"  prune, steady state ({result.pruned} segments a minute): "
          f"{sorted(timings)[2] * 1000:8.1f} ms per pass (median of 5)")
    started = time.monotonic()
    recorder.prune_once()
    print(f"  prune with nothing to delete (free-space check) : "
          f"{(time.monotonic() - started) * 1000:8.1f} ms")
    recorder.stop()

    storage = config.storage_dir
    started = time.monotonic()
    walked = _naive_walk(storage)
    walk_s = time.monotonic() - started
    print(f"  baseline: directory walk + stat + sort ({len(walked):,} files): "
          f"{walk_s * 1000:8.1f} ms per pass")
    index = FootageIndex(config.index_path)
    started = time.monotonic()
    index.execute("SELECT sum(bytes) FROM segments NOT INDEXED")
    index.execute(
        "SELECT id, path FROM segments NOT INDEXED WHERE held = 0 AND end_ms < ? "
        "ORDER BY start_ms LIMIT 21", (clock.wall_ms() - 30 * 86_400_000,),
    )
    scan_s = time.monotonic() - started
    print(f"  baseline: unindexed SQL (sum + oldest by scan)  : {scan_s * 1000:8.1f} ms per pass")

    # A crash: the open segment half written and an unread segment list per camera.
    last = index.segments.last("cam-00")
    assert last is not None
    index.close()
    for camera in range(CAMERAS):
        name = _name(last.end_ms)
        leftover = storage / f"cam-{camera:02d}" / name[:8] / name
        leftover.parent.mkdir(parents=True, exist_ok=True)
        leftover.write_bytes(_half_written())
    index = FootageIndex(config.index_path)
    started = time.monotonic()
    report = reconcile(
        index, storage, [f"cam-{n:02d}" for n in range(CAMERAS)], clock,
        segment_s=SEGMENT_MS // 1000,
    )
    ours = time.monotonic() - started
    print(f"  start-up reconciliation after a crash: {ours * 1000:8.1f} ms "
          f"({report.folders_scanned} folders, {report.files_scanned:,} files read, "
          f"{report.leftovers} half-written kept)")
    started = time.monotonic()
    indexed = {row[0] for row in index.execute("SELECT path FROM segments")}
    on_disk = {os.path.relpath(path, storage) for _, path in _naive_walk(storage)}
    orphans, missing = on_disk - indexed, indexed - on_disk
    naive = time.monotonic() - started
    print(f"  baseline: full reconciliation (walk + compare all): {naive * 1000:8.1f} ms "
          f"({len(orphans)} orphans, {len(missing)} missing)")
    index.close()
    print(f"  ({built:,} segments; ours touches only what changed, the baselines everything)")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.recorder")
    parser.add_argument("--segments", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20.0, help="CPU sampling window")
    parser.add_argument("--skip-cpu", action="store_true")
    parser.add_argument("--skip-index", action="store_true")
    args, _ = parser.parse_known_args()
    base = os.environ.get("HALLWATCH_BENCH_DIR")
    scratch = Path(tempfile.mkdtemp(prefix="hallwatch-bench-recorder-", dir=base))
    try:
        if not args.skip_cpu:
            print("CPU per camera, 1080p25 H.264 at 4 Mbit/s:", flush=True)
            bench_cpu(scratch, args.seconds)
        if not args.skip_index:
            print(f"retention and start-up with {args.segments:,} indexed segments:", flush=True)
            bench_prune_and_reconcile(scratch / "index", args.segments)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        for leftover in Path("/dev/shm").glob("hallwatch-bench-files-*"):
            shutil.rmtree(leftover, ignore_errors=True)


if __name__ == "__main__":
    main()
