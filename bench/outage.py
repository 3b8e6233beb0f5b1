"""A long gateway outage: what it costs the devices, the broker's memory and the broker's disk.

    python -m bench.outage [MINUTES] [RATE]

Two simulated devices record RATE events a second each (100 by default), with
the uplink's default timings, while the gateway is down for MINUTES (60 by
default); then the gateway comes back and the backlog drains. Printed: events
sent per event recorded (the bar: at most 1.05), the broker's memory at the
start and the end of the outage (flat), the bytes the broker wrote to disk
beside the bytes of the events themselves (at most 2x), and how long the drain
took. tests/spine/test_long_outage.py is the same run compressed to fit the suite.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from bench._common import disk_writes, load, role, rss_kib, stop, wait_for
from spine.broker.runner import BrokerOptions, MosquittoBroker, free_port

DEVICES = ("sim-01", "sim-02")
BEFORE_S = 30.0  # the hall running normally before the gateway goes
AFTER_S = 30.0  # and recording again once it is back, while the backlog drains


def counters(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
            return int(conn.execute("SELECT count(*) FROM events WHERE type='sim.counter'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def main() -> None:
    args = [arg for arg in sys.argv[1:] if arg.replace(".", "", 1).isdigit()]
    minutes = float(args[0]) if args else 60.0
    rate = float(args[1]) if len(args) > 1 else 100.0
    outage_s = minutes * 60
    events = int(rate * (BEFORE_S + outage_s + AFTER_S))
    print(f"gateway down {minutes:g} min, {len(DEVICES)} devices at {rate:g} ev/s each ({load()})",
          flush=True)
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR", ".")) as tmp:
        root = Path(tmp)
        broker = MosquittoBroker(BrokerOptions(free_port(), root / "broker"))
        broker.start()
        assert broker.process is not None
        gateway_db = root / "gateway.sqlite"
        (root / "gateway.toml").write_text(
            f'store_path = "{gateway_db}"\n[hall_broker]\nport = {broker.port}\n'
            f"[central_broker]\nport = {broker.port}\n"
            "[devices]\nknown = [" + ", ".join(f'{{id = "{d}"}}' for d in DEVICES) + "]\n"
        )
        devices = []
        for name in DEVICES:
            config = root / f"{name}.toml"
            config.write_text(
                f'[device]\nid = "{name}"\nhall = "hall-01"\nkind = "sim"\n[broker]\nport = {broker.port}\n'
                f'[outbox]\npath = "{root / name / "outbox.sqlite"}"\n'
            )
            devices.append(role("device", config, root / f"{name}.log", "simulate", "--events", str(events),
                                "--rate", str(rate), "--exit-when-drained"))
        gateway = role("gateway", root / "gateway.toml", root / "gateway.log", "run")
        try:
            time.sleep(BEFORE_S)  # the hall running normally
            gateway.kill()
            gateway.wait()
            memory_start = rss_kib(broker.process.pid)
            peak = memory_start
            ends = time.monotonic() + outage_s
            while time.monotonic() < ends:
                time.sleep(min(10.0, max(0.0, ends - time.monotonic())))  # the outage itself
                peak = max(peak, rss_kib(broker.process.pid))
            memory_end = rss_kib(broker.process.pid)
            gateway = role("gateway", root / "gateway.toml", root / "gateway.log", "run")
            back = time.monotonic()
            for process in devices:
                process.wait(outage_s + 3600)
            wait_for(lambda: counters(gateway_db) >= len(DEVICES) * events, 3600,
                     "every event at the gateway")
            drained_s = time.monotonic() - back
            writes = disk_writes(broker.process.pid)
        finally:
            stop([gateway, *devices])
            broker.stop()
        sent = 0
        for name in DEVICES:
            log = (root / f"{name}.log").read_text().splitlines()
            sent += json.loads([line for line in log if line.startswith("{")][-1])["events_sent"]
        with sqlite3.connect(gateway_db) as conn:
            event_bytes = int(conn.execute(
                "SELECT sum(length(payload)) FROM events WHERE type='sim.counter'").fetchone()[0])
    recorded = len(DEVICES) * events
    print(f"  events sent per event recorded   {sent / recorded:8.3f}   "
          f"({sent:,} for {recorded:,}; bar <= 1.05)")
    print(f"  broker memory during the outage  {memory_start / 1024:6.1f} -> {memory_end / 1024:.1f} MiB "
          f"(peak {peak / 1024:.1f})")
    print(f"  broker disk writes, whole run    {writes / 1e6:8.1f} MB for {event_bytes / 1e6:.1f} MB "
          f"of events ({writes / event_bytes:.2f}x; bar <= 2x)")
    print(f"  backlog drained {drained_s:.0f} s after the gateway came back ({load()})")


if __name__ == "__main__":
    main()
