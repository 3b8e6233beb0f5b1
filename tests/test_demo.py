"""`hall demo`, the README's first command: a whole simulated hall reaches central, and the
terminal tells its story instead of dumping logs (issue #18, "The demo")."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.support import wait_until

DEMO = [sys.executable, "-m", "hallwatch", "--log-level", "WARNING", "demo", "--http-port", "0"]
STORY_LINE = re.compile(
    r"^\d\d:\d\d:\d\d  (ticket|called|served|no-show|moved|rated|light|footage|complaint) ")


def test_the_demo_runs_a_hall_end_to_end_and_tells_its_story(tmp_path: Path) -> None:
    result = subprocess.run([*DEMO, "--duration", "15", "--once", "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=240)

    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout
    report = json.loads(output[output.index("\n{") + 1: output.rindex("}") + 1])
    received = report["central"]["events_by_type"]
    for kind in ("queue.ticket_issued", "queue.called", "sim.counter", "recorder.camera_state"):
        assert received.get(kind, 0) > 0, f"central received no {kind}: {received}"
    assert report["central"]["dead_letters"] == 0
    assert report["gateway"]["forward_backlog"] == 0
    assert len(report["gateway"]["devices_online"]) == 10
    assert report["queue"]["tickets_printed"] == received["queue.ticket_issued"]

    # The pages' addresses in a box first; then the story, one line per hall event.
    before_story = output[: output.index("\n{")]
    assert re.search(r"│ big screen +http://127\.0\.0\.1:\d+/screen\?token=\S+ +│", before_story)
    assert re.search(r"│ performance +http://127\.0\.0\.1:\d+/performance\?token=\S+ +│", before_story)
    story = [line for line in before_story.splitlines() if STORY_LINE.match(line)]
    assert any(" ticket " in line for line in story) and any(" called " in line for line in story), output
    # Its logs are in the data directory, in the hall's time zone; a normal run warns of nothing.
    logged = (tmp_path / "demo.log").read_text(encoding="utf-8")
    assert "+08:00 INFO gateway.service: gateway gw-hall-01 serving hall hall-01" in logged
    assert result.stderr == "", result.stderr[-3000:]
    # --once stops the hall: what follows the summary names no page, which would be dead.
    after = output[output.rindex("}") + 1:]
    assert "http://" not in after and "the hall has stopped" in after


def test_ctrl_c_stops_the_devices_first_and_the_broker_last_within_seconds(tmp_path: Path) -> None:
    # Its own process group, as a terminal's foreground job: Ctrl-C reaches every process in it.
    demo = subprocess.Popen([*DEMO, "--duration", "3", "--data-dir", str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    lines: list[str] = []
    assert demo.stdout is not None and demo.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(line.rstrip("\n") for line in demo.stdout),
                              daemon=True)
    reader.start()
    try:
        wait_until(lambda: any("the hall keeps running" in line for line in lines), 120,
                   "the demo running past its first phase")
        os.killpg(demo.pid, signal.SIGINT)
        asked = time.monotonic()
        demo.wait(30)
        took = time.monotonic() - asked
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
    reader.join(10)
    errors = demo.stderr.read()

    assert demo.returncode == 0, errors[-3000:]
    assert took < 10, f"Ctrl-C took {took:.1f} s"
    assert "lost the broker" not in errors and "Traceback" not in errors, errors[-3000:]
    assert any(line.startswith("stopped in ") for line in lines), lines[-5:]
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout
    assert leftovers == "", f"still running: {leftovers}"
