"""A gateway away for a long time costs the devices and the broker no more than the events themselves.

Ten minutes at 100 events a second per device, compressed: every duration of the
uplink (the wait for an ack, the longest wait between probes) is scaled by the
same factor as the outage, so the sender goes through the same number of rounds
as in the real thing. `python -m bench.outage` runs the full hour.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from spine.broker.runner import MosquittoBroker
from tests.support import wait_until
from tests.support.configs import HallLayout
from tests.support.processes import HallProcess

SCALE = 30  # 10 minutes become 20 s
OUTAGE_S = 600 / SCALE
RATE = 100  # events per second, per device
DEVICES = ("sim-01", "sim-02")
EVENTS = RATE * int(OUTAGE_S + 15)  # recorded before, during and after the outage


def device_config(hall: HallLayout, device: str) -> Path:
    path = hall.root / f"{device}.toml"
    path.write_text(
        f'[device]\nid = "{device}"\nhall = "{hall.hall}"\nkind = "sim"\n'
        f"[broker]\nport = {hall.broker_port}\n"
        f'[outbox]\npath = "{hall.outbox(device)}"\n'
        # The defaults (10 s, 60 s) divided by SCALE.
        f"[uplink]\nack_timeout_s = {10 / SCALE}\nprobe_max_s = {60 / SCALE}\nheartbeat_s = 1\n"
    )
    return path


def stored_counters(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
            return int(conn.execute("SELECT count(*) FROM events WHERE type='sim.counter'").fetchone()[0])
    except sqlite3.OperationalError:  # the gateway is still creating its tables
        return 0


def broker_memory_kib(broker: MosquittoBroker) -> int:
    assert broker.process is not None
    status = Path(f"/proc/{broker.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


def broker_disk_writes(broker: MosquittoBroker) -> int:
    assert broker.process is not None
    io = Path(f"/proc/{broker.process.pid}/io").read_text()
    return int(next(line.split()[1] for line in io.splitlines() if line.startswith("write_bytes:")))


def uplink_stats(device: HallProcess) -> dict[str, int]:
    """What `hall device simulate` prints when it is done."""
    lines = [line for line in device.log().splitlines() if line.startswith("{")]
    return dict(json.loads(lines[-1]))


def test_a_gateway_down_ten_minutes_costs_no_resend_storm_no_broker_memory_and_no_disk_wear(
    hall: HallLayout, broker: MosquittoBroker, processes: list[HallProcess]
) -> None:
    gateway = HallProcess(
        "gateway", ["gateway", "run", "--config", str(hall.gateway_config(list(DEVICES)))], hall.root
    ).start()
    processes.append(gateway)
    devices = [
        HallProcess(device, ["device", "simulate", "--config", str(device_config(hall, device)),
                             "--events", str(EVENTS), "--rate", str(RATE), "--exit-when-drained"],
                    hall.root).start()
        for device in DEVICES
    ]
    processes.extend(devices)
    wait_until(lambda: stored_counters(hall.gateway_db) >= 2 * RATE, 60, "the hall to be running")

    gateway.kill()
    memory = [broker_memory_kib(broker)]
    outage = threading.Event()
    for _ in range(int(OUTAGE_S)):
        outage.wait(1.0)  # the outage itself: a second between two looks at the broker
        memory.append(broker_memory_kib(broker))
    gateway.start()

    for device in devices:
        assert device.wait(120) == 0, device.log()[-2000:]
    wait_until(lambda: stored_counters(hall.gateway_db) >= len(DEVICES) * EVENTS, 60, "every event stored")
    writes = broker_disk_writes(broker)  # since it started, just before the hall

    sent = sum(uplink_stats(device)["events_sent"] for device in devices)
    recorded = len(DEVICES) * EVENTS
    assert sent / recorded <= 1.05, f"{sent} events sent for {recorded} recorded"
    # Flat: what the broker holds for the absent gateway does not grow with the outage.
    settled = memory[len(memory) // 4:]
    assert max(settled) - min(settled) <= 1024, f"broker memory (KiB) during the outage: {memory}"
    with sqlite3.connect(hall.gateway_db) as conn:
        event_bytes = conn.execute(
            "SELECT sum(length(payload)) FROM events WHERE type='sim.counter'").fetchone()[0]
    assert writes <= 2 * event_bytes, f"the broker wrote {writes} bytes for {event_bytes} bytes of events"
    assert broker.persistence_path.exists()  # it did persist: the bound is not persistence switched off
