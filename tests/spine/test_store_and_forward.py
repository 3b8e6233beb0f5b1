"""The spine end to end with real processes: nothing lost, nothing doubled, whatever is killed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from spine.broker.runner import MosquittoBroker
from tests.support import wait_until
from tests.support.configs import HallLayout
from tests.support.processes import HallProcess

EVENTS = 3000
RECORDED = "SELECT seq FROM sqlite_sequence WHERE name='outbox'"  # the device's last sequence number


def count_in(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        try:
            row = conn.execute(sql).fetchone()
            return int(row[0]) if row and row[0] is not None else 0
        except sqlite3.OperationalError:
            return 0


def test_a_burst_reaches_central_exactly_once_in_order_through_kills_and_restarts(
    hall: HallLayout, broker: MosquittoBroker, processes: list[HallProcess]
) -> None:
    logs = hall.root
    central = HallProcess("central", ["central", "run", "--config", str(hall.central())], logs).start()
    gateway = HallProcess(
        "gateway", ["gateway", "run", "--config", str(hall.gateway_config(["sim-01"]))], logs
    ).start()
    device_args = [
        "device",
        "simulate",
        "--config",
        str(hall.device("sim-01")),
        "--events",
        str(EVENTS),
        "--rate",
        "400",
    ]
    device = HallProcess("sim-01", device_args, logs).start()
    processes.extend([central, gateway, device])
    waiting = "SELECT count(*) FROM outbox"

    # kill -9 the device in the middle of its burst, then let it carry on.
    wait_until(
        lambda: count_in(hall.outbox("sim-01"), RECORDED) > EVENTS // 4,
        60,
        "the device to record a quarter of its burst",
    )
    device.kill()
    device.start()

    # The broker dies without saving; whatever it held in memory is gone.
    wait_until(
        lambda: count_in(hall.gateway_db, "SELECT count(*) FROM events WHERE type='sim.counter'") > 0,
        60,
        "the gateway to store events",
    )
    broker.kill()
    broker.start()

    # The gateway dies mid-ingest.
    wait_until(
        lambda: count_in(hall.outbox("sim-01"), RECORDED) > EVENTS // 2, 60, "half the burst to be recorded"
    )
    gateway.kill()
    gateway.start()

    # Central goes away for a while; the gateway keeps storing and queues for it.
    central.stop()
    wait_until(
        lambda: count_in(hall.outbox("sim-01"), RECORDED) >= EVENTS, 90, "the whole burst to be recorded"
    )
    wait_until(
        lambda: count_in(hall.outbox("sim-01"), waiting) == 0,
        90,
        "the device's outbox to drain into the gateway while central is down",
    )
    central.start()

    query = "SELECT count(*) FROM events WHERE type='sim.counter'"
    wait_until(lambda: count_in(hall.central_db, query) >= EVENTS, 120, f"central to hold {EVENTS} events")
    wait_until(
        lambda: count_in(hall.gateway_db, "SELECT count(*) FROM outbox") == 0,
        60,
        "the gateway's forward outbox to drain",
    )

    with sqlite3.connect(hall.central_db) as conn:
        rows = conn.execute(
            "SELECT seq, json_extract(payload, '$.body.n') FROM events "
            "WHERE device='sim-01' AND type='sim.counter' ORDER BY id"
        ).fetchall()
        distinct_ids = conn.execute(
            "SELECT count(DISTINCT event_id) FROM events WHERE type='sim.counter'"
        ).fetchone()[0]
    numbers = [n for _, n in rows]
    assert len(rows) == EVENTS == distinct_ids
    assert sorted(numbers) == list(range(1, EVENTS + 1))  # none lost, none doubled
    assert numbers == sorted(numbers)  # and stored in the device's order
    assert all(seq == n for seq, n in rows)


def test_a_killed_device_is_reported_offline_by_its_last_will_and_back_online_on_restart(
    hall: HallLayout, broker: MosquittoBroker, processes: list[HallProcess]
) -> None:
    gateway = HallProcess(
        "gateway", ["gateway", "run", "--config", str(hall.gateway_config(["sim-01"]))], hall.root
    ).start()
    device_args = ["device", "simulate", "--config", str(hall.device("sim-01")), "--events", "5"]
    device = HallProcess("sim-01", device_args, hall.root).start()
    processes.extend([gateway, device])
    presence = (
        "SELECT group_concat(entry, ' ') FROM (SELECT type || ':' || "
        "coalesce(json_extract(payload, '$.body.reason'), '') AS entry FROM events "
        "WHERE type IN ('device.online', 'device.offline') ORDER BY id)"
    )

    def presence_log() -> str:
        if not hall.gateway_db.exists():
            return ""
        try:
            with sqlite3.connect(f"file:{hall.gateway_db}?mode=ro", uri=True) as conn:
                return str(conn.execute(presence).fetchone()[0] or "")
        except sqlite3.OperationalError:  # the gateway is still creating its tables
            return ""

    wait_until(lambda: "device.online" in presence_log(), 60, "the device to come online")
    device.kill()
    wait_until(lambda: "device.offline:connection lost" in presence_log(), 60, "the last will")
    device.start()
    wait_until(lambda: presence_log().count("device.online") == 2, 60, "the device to come back")
    assert presence_log().split() == ["device.online:", "device.offline:connection", "lost", "device.online:"]
