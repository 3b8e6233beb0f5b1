"""Hall telemetry and watermarks at the store, the same specification on SQLite and on PostgreSQL:
devices up and down with when last seen, health that never goes back in time, losses and
refusals counted, quarantine kept until released, a hall's watermark only ever forward."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from central.hall_watermarks import HallWatermarks
from central.store import CentralStore
from central.telemetry import DeviceHealthView, Telemetry, hall_views
from spine.clock import SimulatedClock
from spine.storeurl import StoreUrl
from tests.central.events import deliver

HALL = "hall-01"
T0 = 1_795_399_200_000
SECOND = 1000


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(wall_ms=T0 + 60 * SECOND)


@pytest.fixture
def store(store_url: StoreUrl, clock: SimulatedClock) -> Iterator[CentralStore]:
    store = CentralStore(store_url, clock)
    telemetry = Telemetry()
    telemetry.install(store)
    store.handlers.append(telemetry)
    yield store
    store.close()


def kiosk(store: CentralStore) -> DeviceHealthView:
    (view,) = hall_views(store, HALL)
    return next(d for d in view.devices if d.device == "kiosk-01")


def test_a_device_goes_online_then_offline_and_keeps_its_kind_and_when_it_was_last_seen(
        store: CentralStore) -> None:
    deliver(store, HALL, [("device.online", {"device": "kiosk-01", "kind": "kiosk"}, T0)])
    assert (kiosk(store).online, kiosk(store).kind, kiosk(store).last_seen) == (True, "kiosk", T0)
    deliver(store, HALL, [("device.offline", {"device": "kiosk-01", "reason": "lost",
                                              "last_seen": T0 + 5 * SECOND}, T0 + 9 * SECOND)])
    device = kiosk(store)
    assert (device.online, device.kind, device.since, device.last_seen, device.reason) == (
        False, "kiosk", T0 + 9 * SECOND, T0 + 5 * SECOND, "lost")


def test_health_keeps_the_newest_report_whatever_order_they_arrive_in(store: CentralStore) -> None:
    printer = "queue.printer_status"
    deliver(store, HALL, [("device.online", {"device": "kiosk-01", "kind": "kiosk"}, T0)])
    deliver(store, HALL, [(printer, {"state": "paper_out", "detail": "纸尽"}, T0 + 2 * SECOND),
                          (printer, {"state": "ok"}, T0 + SECOND)], device="kiosk-01")
    assert kiosk(store).health == [{"component": "printer", "state": "paper_out", "detail": "纸尽",
                                    "at": T0 + 2 * SECOND}]
    deliver(store, HALL, [(printer, {"state": "ok"}, T0 + 3 * SECOND)], device="kiosk-01")
    assert kiosk(store).health[0]["state"] == "ok"


def test_drops_skew_and_refusals_are_counted_and_a_quarantine_lasts_until_released(
        store: CentralStore) -> None:
    deliver(store, HALL, [("device.dropped", {"total": 7}, T0), ("device.dropped", {"total": 2}, T0)],
            device="kiosk-01")
    deliver(store, HALL, [
        ("device.clock_skew", {"device": "kiosk-01", "skew_ms": 4200, "state": "skewed"}, T0),
        ("gateway.dead_letter", {"reason": "malformed"}, T0),
        ("gateway.dead_letter", {"reason": "malformed"}, T0),
        ("security.refused", {"device": "kiosk-01", "kind": "kiosk", "type": "rating.submitted",
                              "reason": "not its role", "quarantined": True}, T0),
    ])
    device = kiosk(store)
    assert (device.dropped, device.skew_ms, device.skewed, device.refused, device.quarantined) == (
        9, 4200, True, 1, True)
    (view,) = hall_views(store, HALL)
    assert view.refused_at_gateway == 2
    deliver(store, HALL, [("security.released", {"device": "kiosk-01"}, T0 + SECOND)])
    assert not kiosk(store).quarantined and kiosk(store).refused == 1


def test_the_gateways_status_and_heartbeat_show_with_the_hall(store: CentralStore) -> None:
    beat = {"outbox_events": 3, "ingest": {"stored": 12},
            "devices": [{"device": "kiosk-01", "online": True, "last_seen": T0, "kind": "kiosk"}]}
    store.set_hall_status(HALL, True, None, json.dumps(beat))
    (view,) = hall_views(store, HALL)
    assert (view.gateway_online, view.forward_backlog, view.ingest) == (True, 3, {"stored": 12})
    assert kiosk(store).online and kiosk(store).kind == "kiosk"


def test_telemetry_deployed_late_catches_up_from_the_log_once(store_url: StoreUrl,
                                                              clock: SimulatedClock) -> None:
    bare = CentralStore(store_url, clock)
    deliver(bare, HALL, [("device.dropped", {"total": 5}, T0)], device="kiosk-01")
    telemetry = Telemetry()
    telemetry.install(bare)
    telemetry.install(bare)  # a restart replays nothing
    bare.handlers.append(telemetry)
    deliver(bare, HALL, [("device.dropped", {"total": 1}, T0)], device="kiosk-01")
    assert kiosk(bare).dropped == 6
    bare.close()


def test_a_halls_watermark_moves_only_forward_with_batches_and_empty_heartbeats(
        store: CentralStore, clock: SimulatedClock) -> None:
    watermarks = HallWatermarks(store, clock, behind_after_s=60)
    store.handlers.append(watermarks)
    deliver(store, HALL, [("device.dropped", {"total": 1}, T0 + 10 * SECOND)], device="kiosk-01")
    deliver(store, HALL, [("device.dropped", {"total": 1}, T0 + 5 * SECOND)], device="kiosk-01")
    assert watermarks.current() == {f"hall:{HALL}": (T0 + 10 * SECOND) // 1000}
    watermarks.heartbeat(HALL, {"at": T0 + 30 * SECOND, "outbox_events": 1})  # still forwarding
    assert watermarks.completeness(HALL, clock.wall_ms()).complete_until == T0 + 10 * SECOND
    watermarks.heartbeat(HALL, {"at": T0 + 40 * SECOND, "outbox_events": 0})
    complete = watermarks.completeness(HALL, clock.wall_ms())
    assert (complete.complete_until, complete.incomplete_since) == (T0 + 40 * SECOND, None)
    assert watermarks.completeness("hall-02", clock.wall_ms()).complete_until is None
