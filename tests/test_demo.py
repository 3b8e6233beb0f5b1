"""`hall demo`, the README's first command: a whole simulated hall reaches central."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_the_demo_runs_a_hall_end_to_end_and_prints_the_big_screen(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hallwatch", "--log-level", "WARNING", "demo", "--duration", "15",
         "--once", "--http-port", "0", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=240,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout
    report = json.loads(output[output.index("{"): output.rindex("}") + 1])
    received = report["central"]["events_by_type"]
    for kind in ("queue.ticket_issued", "queue.called", "sim.counter", "recorder.camera_state"):
        assert received.get(kind, 0) > 0, f"central received no {kind}: {received}"
    assert report["central"]["dead_letters"] == 0
    assert report["gateway"]["forward_backlog"] == 0
    assert len(report["gateway"]["devices_online"]) == 10
    assert report["queue"]["tickets_printed"] == received["queue.ticket_issued"]
    assert "big screen: http://127.0.0.1:" in output and "/screen?token=" in output
