"""The demo hall runs as a believable day: every window keeps serving, however long it runs.

A compressed day: citizens press every ~0.15 s and officers take ~0.1 s a
visit, so the simulated officers meet in a minute what a real-time demo meets
in hours (a transfer every twentieth visit, recalls, no-shows, phone numbers).
"""

from __future__ import annotations

import time
from pathlib import Path

from edge.queue_kiosk.demo import start_demo_queue
from edge.window_caller.demo import DemoCallers, start_demo_callers
from gateway.service import GatewayService
from hallwatch.demo import HALL, WINDOWS, gateway_config
from spine.broker.runner import MosquittoBroker
from spine.config import BrokerSettings
from tests.support import wait_until

ROUND_S = 10.0
TRANSFERS = 3
"""Run until this many transfers happened (about one visit in twenty), then one more round."""
DAY_S = 120.0
"""The compressed day's longest length: several hundred visits."""


def test_no_window_of_the_demo_hall_gets_stuck_over_a_compressed_day(
    tmp_path: Path, broker: MosquittoBroker,
) -> None:
    gateway = GatewayService(gateway_config(tmp_path, broker.port))
    gateway.start()
    settings = BrokerSettings(port=broker.port)
    queue = start_demo_queue(settings, HALL, tmp_path / "queue", press_every_s=0.15)
    callers = start_demo_callers(settings, HALL, tmp_path / "queue", windows=len(WINDOWS), serve_s=0.1)
    try:
        wait_until(lambda: len(callers.served_at) == len(WINDOWS), 30, "every window serving")
        transfers_before = _count(gateway, "queue.transferred")
        rounds, end_of_day = 0, time.monotonic() + DAY_S
        while (time.monotonic() < end_of_day
               and _count(gateway, "queue.transferred") - transfers_before < TRANSFERS):
            rounds += 1
            _one_round(callers)
        transfers = _count(gateway, "queue.transferred") - transfers_before
        assert transfers >= TRANSFERS, f"only {transfers} transfer(s) in {rounds} rounds: {callers.summary()}"
        _every_window_serves(callers)
    finally:
        callers.stop()
        queue.stop()
        gateway.stop()


def _one_round(callers: DemoCallers) -> None:
    """Every window serves someone new within the round: none is left holding a visit it
    cannot finish (a transfer refused, a reply lost)."""
    before = dict(callers.served_at)
    deadline = time.monotonic() + ROUND_S
    wait_until(lambda: all(callers.served_at[w] > before[w] for w in WINDOWS)
               or time.monotonic() > deadline, ROUND_S + 5, "a round of service")
    stuck = [w for w in WINDOWS if callers.served_at[w] <= before[w]]
    assert not stuck, f"window(s) {stuck} served nobody for {ROUND_S:.0f} s: {callers.summary()}"


def _every_window_serves(callers: DemoCallers) -> None:
    before = dict(callers.served_at)
    wait_until(lambda: all(callers.served_at[w] > before[w] for w in WINDOWS), ROUND_S,
               "every window serving after the transfers")


def _count(gateway: GatewayService, kind: str) -> int:
    return int(gateway.db.query("SELECT count(*) FROM events WHERE type = ?", (kind,))[0][0])
