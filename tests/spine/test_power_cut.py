"""A power cut in the middle of writing: the file opens cleanly and nothing committed is missing."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
from pathlib import Path

WRITER = """
import sys
from spine.clock import SystemClock
from spine.config import OutboxSettings
from spine.outbox import Outbox
from spine.recorder import EventRecorder

recorder = EventRecorder(Outbox(sys.argv[1], OutboxSettings()), "sim-01", SystemClock())
while True:
    event = recorder.record("sim.counter", {"n": 1, "pad": "x" * 300})
    print(event.seq, flush=True)  # only after record() returned: the event is committed
"""


def test_kill_9_while_writing_loses_nothing_that_was_committed(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.sqlite"
    committed: list[int] = []
    chance = random.Random(7)
    for _ in range(5):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(outbox)], stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout is not None
        for _ in range(chance.randint(20, 200)):
            committed.append(int(writer.stdout.readline()))
        writer.kill()  # SIGKILL mid-write: no rollback, no close, no checkpoint
        writer.wait()

        with sqlite3.connect(outbox) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            stored = {row[0] for row in conn.execute("SELECT pos FROM outbox")}
        assert set(committed) <= stored
        assert len(stored) == max(stored)  # no hole: positions are dense from 1
