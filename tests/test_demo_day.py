"""The demo hall runs as a believable day: every window keeps serving, however long it runs.

An hour of the demo's pace compressed sixty times: citizens come every ~20 s and
officers take ~40 s a visit in the demo; here every ~0.33 s and ~0.67 s, so a
minute of the test is the demo's hour (a transfer every twentieth visit, recalls,
no-shows, phone numbers), and the services' daily limits are never met.
"""

from __future__ import annotations

import time
from pathlib import Path

from edge.queue_kiosk.demo import DEMO_SERVICES, SERVICE_WEIGHTS, start_demo_queue
from edge.window_caller.demo import DemoCallers, start_demo_callers
from gateway.service import GatewayService
from hallwatch.demo import HALL, KIOSK_SLOTS, KIOSKS, WINDOWS, Pace, gateway_config
from spine.broker.runner import MosquittoBroker
from spine.config import BrokerSettings
from tests.support import wait_until

COMPRESSION = 60.0
HOUR_S = 3600 / COMPRESSION
ROUND_S = 10.0
"""Ten minutes of the demo: every window serves someone new in each."""


def test_every_window_of_the_demo_hall_serves_through_a_compressed_hour(
    tmp_path: Path, broker: MosquittoBroker,
) -> None:
    pace = Pace()
    gateway = GatewayService(gateway_config(tmp_path, broker.port))
    gateway.start()
    settings = BrokerSettings(port=broker.port)
    queue = start_demo_queue(settings, HALL, tmp_path / "queue", kiosks=KIOSKS, slots=KIOSK_SLOTS,
                             press_every_s=pace.citizen_every_s / COMPRESSION,
                             opening_queue=pace.opening_queue)
    callers = start_demo_callers(settings, HALL, tmp_path / "queue", windows=len(WINDOWS),
                                 serve_s=pace.serve_s / COMPRESSION)
    try:
        wait_until(lambda: len(callers.served_at) == len(WINDOWS), 30, "every window serving")
        transfers_before = _count(gateway, "queue.transferred")
        end_of_hour = time.monotonic() + HOUR_S
        while time.monotonic() < end_of_hour:
            _one_round(callers)
        transfers = _count(gateway, "queue.transferred") - transfers_before
        assert transfers >= 3, f"only {transfers} transfer(s) in the hour: {callers.summary()}"
        _every_window_serves(callers)
        assert sum(k.counters["refused"] for k in queue.kiosks) == 0, "a citizen got no ticket"
    finally:
        callers.stop()
        queue.stop()
        gateway.stop()


def test_the_daily_limits_last_a_working_day_and_more_at_the_demo_s_pace() -> None:
    """Twelve hours of citizens every ~20 s, choosing services 5:3:2:1, stay within each limit."""
    citizens = 12 * 3600 / Pace().citizen_every_s
    for service, weight in zip(DEMO_SERVICES, SERVICE_WEIGHTS, strict=True):
        expected = citizens * weight / sum(SERVICE_WEIGHTS)
        assert expected <= service["daily_limit"], (service["prefix"], round(expected))


def _one_round(callers: DemoCallers) -> None:
    """Every window serves someone new within the round, or finds nobody waiting for it: none
    is left holding a visit it cannot finish (a transfer refused, a reply lost)."""
    before = _progress(callers)
    deadline = time.monotonic() + ROUND_S
    wait_until(lambda: all(moved for moved in _moved(callers, before).values())
               or time.monotonic() > deadline, ROUND_S + 5, "a round of service")
    stuck = [w for w, moved in _moved(callers, before).items() if not moved]
    assert not stuck, (f"window(s) {stuck} served nobody for {ROUND_S:.0f} s, with citizens "
                       f"waiting: {callers.summary()}")


def _progress(callers: DemoCallers) -> dict[str, tuple[int, int]]:
    return {w: (callers.served_at.get(w, 0), callers.idle_at.get(w, 0)) for w in WINDOWS}


def _moved(callers: DemoCallers, before: dict[str, tuple[int, int]]) -> dict[str, bool]:
    now = _progress(callers)
    return {w: now[w][0] > before[w][0] or now[w][1] > before[w][1] for w in WINDOWS}


def _every_window_serves(callers: DemoCallers) -> None:
    before = dict(callers.served_at)
    wait_until(lambda: all(callers.served_at[w] > before[w] for w in WINDOWS), ROUND_S,
               "every window serving after the hour")


def _count(gateway: GatewayService, kind: str) -> int:
    return int(gateway.db.query("SELECT count(*) FROM events WHERE type = ?", (kind,))[0][0])
