"""A rating terminal whose disk is full keeps running: it cannot record, and says so, but its
session still moves on for the next citizen."""

from __future__ import annotations

import threading
from pathlib import Path

from edge.rating_terminal.agent import RatingTerminal
from edge.rating_terminal.session import Phase
from spine.broker.runner import free_port
from tests.rating.conftest import terminal_config
from tests.support import wait_until

VISIT = {"day": "2026-11-26", "ticket": "A003"}


def test_a_terminal_below_its_disk_floor_goes_on_arming_and_timing_out(tmp_path: Path) -> None:
    config = terminal_config(tmp_path, broker_port=free_port(), rating={"arm_window_s": 0.2},
                             outbox={"path": str(tmp_path / "rating-w3" / "outbox.sqlite"),
                                     "min_free_disk_bytes": 1 << 62})
    terminal = RatingTerminal(config)
    terminal.start()
    try:
        for arming in ("gw-arm-0001", "gw-arm-0002"):
            terminal.arm(VISIT, arming)
            # Not rated in time: the event cannot be recorded, the session still ends.
            wait_until(lambda: terminal.session.phase is Phase.IDLE, 10, "the arm to time out")
        assert terminal.agent.outbox.storage().full
        assert any(t.name == "rating-ticker" and t.is_alive() for t in threading.enumerate())
    finally:
        terminal.stop()
