"""A busy hall: many devices at a steady rate through one gateway into central.

    python -m bench.hall_ingest [DEVICES] [RATE] [SECONDS]

DEVICES simulated devices (200 by default, real EdgeAgents spread over a few
processes) each record RATE events a second (5), for SECONDS (60) after a
warm-up. Printed: device-to-central latency (the device's clock at record to
central's at commit; one machine, one clock) at p50, p99 and worst, and the CPU
the gateway, central and the broker spend per 1,000 events a second.

The devices' outboxes skip fsync (their durability is not what is measured
here, and 1,000 fsyncs a second from one benchmark would measure the disk).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import cpu_seconds, load, role, stop, wait_for
from spine.broker.runner import BrokerOptions, MosquittoBroker, free_port

PROCESSES = 4
WARM_UP_S = 10.0

DEVICES = r"""
import sys, threading, time
from edge.runtime.agent import AgentConfig, EdgeAgent

port, root, first, count, rate, seconds = (int(sys.argv[1]), sys.argv[2], int(sys.argv[3]),
                                           int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]))
agents = []
for number in range(first, first + count):
    device = f"sim-{number:03d}"
    agent = EdgeAgent(AgentConfig.model_validate({
        "device": {"id": device, "hall": "hall-01", "kind": "sim"},
        "broker": {"port": port},
        "outbox": {"path": f"{root}/{device}/outbox.sqlite", "min_free_disk_bytes": 0},
    }))
    agent.outbox.database.connection.execute("PRAGMA synchronous=OFF")
    agent.start()
    agents.append(agent)
print("ready", flush=True)
sys.stdin.readline()  # go
interval = 1.0 / (rate * count)
due = time.monotonic()
ends = due + seconds
n = 0
while due < ends:
    agent = agents[n % count]
    agent.record("sim.counter", {"n": n // count + 1})
    n += 1
    due += interval
    time.sleep(max(0.0, due - time.monotonic()))  # pacing the simulated citizens
print("recorded", n, flush=True)
deadline = time.monotonic() + 600
while not all(agent.uplink.drained() for agent in agents) and time.monotonic() < deadline:
    time.sleep(0.2)
for agent in agents:
    agent.stop()
"""


def central_rows(db: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[int, ...]]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
            return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        return []


def percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))])


def main() -> None:
    args = [arg for arg in sys.argv[1:] if arg.replace(".", "", 1).isdigit()]
    devices = int(args[0]) if args else 200
    rate = float(args[1]) if len(args) > 1 else 5.0
    seconds = float(args[2]) if len(args) > 2 else 60.0
    print(f"{devices} devices at {rate:g} ev/s each for {seconds:g} s ({load()})", flush=True)
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR", ".")) as tmp:
        root = Path(tmp)
        broker = MosquittoBroker(BrokerOptions(free_port(), root / "broker"))
        broker.start()
        assert broker.process is not None
        central_db = root / "central" / "events.sqlite"
        (root / "central.toml").write_text(
            f'data_dir = "{root}/central"\n[broker]\nport = {broker.port}\n[http]\nport = 0\n'
            '[ingest]\nhalls = [{hall = "hall-01", gateway = "gw-hall-01"}]\n'
        )
        known = ", ".join(f'{{id = "sim-{n:03d}"}}' for n in range(1, devices + 1))
        (root / "gateway.toml").write_text(
            f'store_path = "{root}/gw/gateway.sqlite"\n[hall_broker]\nport = {broker.port}\n'
            f"[central_broker]\nport = {broker.port}\n[devices]\nknown = [{known}]\n"
        )
        central = role("central", root / "central.toml", root / "central.log", "run")
        gateway = role("gateway", root / "gateway.toml", root / "gateway.log", "run")
        share = devices // PROCESSES
        groups: list[subprocess.Popen[str]] = []
        try:
            wait_for(lambda: central_db.exists(), 60, "central")
            time.sleep(2.0)  # both roles subscribed before the devices connect
            for index in range(PROCESSES):
                count = share if index < PROCESSES - 1 else devices - share * (PROCESSES - 1)
                group = subprocess.Popen(
                    [sys.executable, "-c", DEVICES, str(broker.port), str(root), str(1 + index * share),
                     str(count), str(rate), str(WARM_UP_S + seconds)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                )
                groups.append(group)
            for group in groups:
                assert group.stdout is not None and group.stdout.readline().strip() == "ready"
            for group in groups:
                assert group.stdin is not None
                group.stdin.write("go\n")
                group.stdin.flush()
            time.sleep(WARM_UP_S)  # devices come online, the gateway warms up
            pids = {"gateway": gateway.pid, "central": central.pid, "broker": broker.process.pid}
            window_start_ms = int(time.time() * 1000)
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            time.sleep(seconds)  # the measured window
            used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
            recorded = 0
            for group in groups:
                assert group.stdout is not None
                recorded += int(group.stdout.readline().split()[1])
            wait_for(lambda: central_rows(central_db, "SELECT count(*) FROM events WHERE type='sim.counter'")
                     [0][0] >= recorded, 600, "central to hold every event")
            for group in groups:
                group.wait(600)
        finally:
            stop(groups)
            stop([gateway, central])
            broker.stop()
        window_end_ms = window_start_ms + int(seconds * 1000)
        window = (window_start_ms, window_end_ms)
        latencies = [row[0] for row in central_rows(
            central_db, "SELECT received_at - device_time FROM events WHERE type='sim.counter' "
            "AND device_time BETWEEN ? AND ?", window)]
        to_gateway = [row[0] for row in central_rows(
            root / "gw" / "gateway.sqlite", "SELECT received_at - device_time FROM events "
            "WHERE type='sim.counter' AND device_time BETWEEN ? AND ?", window)]
    events_per_s = len(latencies) / seconds
    print(f"  {len(latencies):,} events in the window, {events_per_s:,.0f} ev/s reached central")
    print(f"  device -> central latency  p50 {percentile(latencies, 0.5):6,.0f} ms   "
          f"p99 {percentile(latencies, 0.99):6,.0f} ms   worst {max(latencies):6,.0f} ms")
    print(f"  of which device -> gateway p50 {percentile(to_gateway, 0.5):6,.0f} ms   "
          f"p99 {percentile(to_gateway, 0.99):6,.0f} ms")
    per_thousand = {name: 100 * cpu / seconds / (events_per_s / 1000) for name, cpu in used.items()}
    print("  CPU per 1,000 ev/s (% of one core): " +
          "  ".join(f"{name} {value:.0f}%" for name, value in per_thousand.items()))
    print(f"  ({load()})")


if __name__ == "__main__":
    main()
