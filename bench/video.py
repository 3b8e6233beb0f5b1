"""Video benchmarks: what a watched camera costs at the recorder and at the gateway.

A 1080p25 H.264 test camera (4 Mbit/s, a keyframe a second) is recorded three ways,
one after the other, in the same run:

1. recording only (no `[video]`): the recorder's ffmpeg, stream copy into segments;
2. recording with the live view on and nobody watching: the same ffmpeg also
   writes the live HLS playlist through the tee muxer (stream copy);
3. the same, watched: a player (another process) pulls the playlist twice a
   second and every new segment through the gateway's relay (another process),
   as central does for a wall window.

For each: the recorder's ffmpeg, the recorder's Python process (supervisor and
video server), and the gateway relay's process, in % of one core.

`python -m bench.video [--seconds S]`; HALLWATCH_BENCH_DIR picks the scratch folder.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contract.video import API, bearer
from edge.camera_recorder.config import RecorderConfig
from edge.camera_recorder.service import Recorder
from edge.camera_recorder.testsource import TestPatternCamera, encode_test_clip, free_port
from edge.camera_recorder.video import RecorderVideoServer

TOKEN = "bench-token"
CLK_TCK = os.sysconf("SC_CLK_TCK")


class _Sink:
    def record(self, type: str, body: object) -> None:
        pass


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _shares(pids: dict[str, Callable[[], float]], seconds: float) -> dict[str, float]:
    """Share of one core each reader's process used over `seconds` (after a warm-up)."""
    time.sleep(3)  # warm-up: probing, the first segments and the player's start are not steady
    before = {name: read() for name, read in pids.items()}
    start = time.monotonic()
    time.sleep(seconds)  # measuring over a fixed window is the point here
    elapsed = time.monotonic() - start
    return {name: (read() - before[name]) / elapsed for name, read in pids.items()}


def _config(scratch: Path, url: str, live: bool) -> RecorderConfig:
    data: dict[str, Any] = {
        "device": {"id": "rec-bench", "hall": "bench", "kind": "recorder"},
        "outbox": {"path": str(scratch / "outbox.sqlite")},
        "data_dir": str(scratch),
        "recorder": {"segment_s": 60, "min_free_bytes": 0, "audit_per_minute": 0},
        "cameras": [{"id": "cam-1", "url": url}],
    }
    if live:
        data["video"] = {"host": "127.0.0.1", "port": 0, "token": {"token": TOKEN}}
    return RecorderConfig.model_validate(data)


def _recording_pid(recorder: Recorder, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = recorder.supervisors["cam-1"].status
        if status.pid and status.state.value == "recording":
            return status.pid
        time.sleep(0.1)  # polling the supervisor's state, bounded by the deadline
    raise RuntimeError("the recorder did not start recording")


def _run(scratch: Path, clip: Path, seconds: float, *, live: bool, watched: bool) -> dict[str, float]:
    camera = TestPatternCamera(clip).start()
    recorder = Recorder(_config(scratch, camera.url, live), events=_Sink())
    server = RecorderVideoServer(recorder, recorder.config) if live else None
    children: list[subprocess.Popen[bytes]] = []
    try:
        recorder.start()
        if server is not None:
            server.start()
        readers: dict[str, Callable[[], float]] = {}
        pid = _recording_pid(recorder)
        readers["recorder ffmpeg"] = lambda: _cpu_seconds(pid)
        readers["recorder python"] = _own_cpu
        if watched and server is not None:
            port = free_port()
            relay = subprocess.Popen([sys.executable, "-m", "bench.video", "--relay", str(port), server.url])
            children.append(relay)
            time.sleep(1.5)  # the relay's interpreter starting
            children.append(subprocess.Popen([sys.executable, "-m", "bench.video", "--watch",
                                              f"http://127.0.0.1:{port}{API}/rec-bench/live/cam-1/"]))
            readers["gateway relay"] = lambda: _cpu_seconds(relay.pid)
        shares = _shares(readers, seconds)
        if server is not None:
            # Proof the watched run was watched: bytes the recorder served over the window and warm-up.
            shares["served Mbit/s"] = server.video.bytes_served["cam-1"] * 8 / 1e6 / (seconds + 3)
        return shares
    finally:
        for child in children:
            child.terminate()
            child.wait()
        if server is not None:
            server.stop()
        recorder.stop()
        camera.stop()


def serve_relay(port: int, recorder_url: str) -> None:
    """`--relay`: the gateway's relay alone, in its own process (what `hall gateway run` adds)."""
    from gateway.video.relay import GatewayVideo
    from gateway.video.settings import GatewayVideoSettings

    settings = GatewayVideoSettings.model_validate({
        "host": "127.0.0.1", "port": port, "token": {"token": TOKEN},
        "recorders": [{"device": "rec-bench", "url": recorder_url, "token": {"token": TOKEN}}]})
    relay = GatewayVideo(settings, lambda _device: None)
    relay.start()
    while True:
        time.sleep(3600)  # served by the relay's threads until terminated


def watch(base: str) -> None:
    """`--watch`: a player as central is one: the playlist twice a second, each new segment once."""
    import httpx

    seen: set[str] = set()
    with httpx.Client(headers=bearer(TOKEN), timeout=10) as http:
        while True:
            answer = http.get(base + "index.m3u8")
            if answer.status_code == 200:
                for name in [line for line in answer.text.splitlines() if line.endswith(".ts")]:
                    if name not in seen:
                        seen.add(name)
                        http.get(base + name)
            time.sleep(0.5)  # hls.js reloads a 1 s playlist about this often


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.video")
    parser.add_argument("--seconds", type=float, default=20.0, help="CPU sampling window")
    parser.add_argument("--relay", nargs=2, metavar=("PORT", "RECORDER_URL"), help=argparse.SUPPRESS)
    parser.add_argument("--watch", metavar="URL", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()
    if args.relay:
        serve_relay(int(args.relay[0]), args.relay[1])
        return
    if args.watch:
        watch(args.watch)
        return
    base = os.environ.get("HALLWATCH_BENCH_DIR")
    scratch = Path(tempfile.mkdtemp(prefix="hallwatch-bench-video-", dir=base))
    try:
        print("encoding a 10 s 1080p25 H.264 test stream (4 Mbit/s, a keyframe a second) once...", flush=True)
        clip = encode_test_clip(scratch / "clip-1080p.ts", size="1920x1080", rate=25, seconds=10, gop_s=1.0,
                                bitrate="4M")
        runs = {
            "recording only": _run(scratch / "a", clip, args.seconds, live=False, watched=False),
            "live view on, unwatched": _run(scratch / "b", clip, args.seconds, live=True, watched=False),
            "live view on, watched": _run(scratch / "c", clip, args.seconds, live=True, watched=True),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("CPU per camera, 1080p25 H.264 at 4 Mbit/s, % of one core:")
    print(f"  {'':26}{'recorder ffmpeg':>17}{'recorder python':>17}{'gateway relay':>15}{'served':>14}")
    for name, shares in runs.items():
        relay = shares.get("gateway relay")
        served = shares.get("served Mbit/s")
        print(f"  {name:26}{shares['recorder ffmpeg'] * 100:16.1f}%{shares['recorder python'] * 100:16.1f}%"
              + (f"{relay * 100:14.1f}%" if relay is not None else f"{'—':>15}")
              + (f"{served:8.1f} Mbit/s" if served is not None else ""))


if __name__ == "__main__":
    main()
