"""Backlog drain: device -> gateway -> central, beside raw paho-mqtt through the same broker.

    python -m bench.drain [EVENTS] [RUNS]

Each run starts a fresh Mosquitto and measures, in alternating order:

1. raw: paho-mqtt QoS 1 publish -> Mosquitto -> QoS 1 subscriber in another
   process, one message per event (the baseline);
2. drain: EVENTS already in an edge outbox, through Mosquitto and a gateway
   process into a central process, stored and acknowledged at every hop (the
   device's outbox and the gateway's forward outbox empty at the end).

It prints the median of RUNS runs (5 by default) beside the baseline, the CPU
each process spent per 1,000 events, and the machine's load. Then the durable
outbox's own appends beside a plain SQLite insert-per-commit.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench._common import (
    cpu_seconds,
    load,
    median,
    own_cpu_seconds,
    role,
    spread,
    stop,
    wait_for,
)
from edge.runtime.agent import AgentConfig, EdgeAgent
from spine.broker.runner import BrokerOptions, MosquittoBroker, free_port
from spine.clock import SystemClock
from spine.config import OutboxSettings
from spine.outbox import Outbox
from spine.recorder import EventRecorder

PAYLOAD_PAD = "x" * 80  # a ticket or rating event is about 300 bytes on the wire
TARGET = 1.5  # the drain must beat message-at-a-time paho by this much


RAW_SUBSCRIBER = """
import sys, threading
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
port, count = int(sys.argv[1]), int(sys.argv[2])
done, got = threading.Event(), 0
def on_message(_c, _u, _m):
    global got
    got += 1
    if got >= count:
        done.set()
client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-sub", clean_session=False)
client.on_message = on_message
client.on_subscribe = lambda *_a: print("ready", flush=True)
client.connect("127.0.0.1", port)
client.subscribe("bench/raw", qos=1)
client.loop_start()
done.wait(900)
print("done", got, flush=True)
"""


@dataclass
class Measured:
    rate: float
    """events (or messages) per second"""
    cpu_ms: dict[str, float] = field(default_factory=dict)
    """CPU milliseconds per 1,000 events, by process"""


def raw_paho(broker: MosquittoBroker, count: int) -> Measured:
    """Publisher here, subscriber in its own process (as the gateway is), both QoS 1."""
    subscriber = subprocess.Popen(
        [sys.executable, "-c", RAW_SUBSCRIBER, str(broker.port), str(count)],
        stdout=subprocess.PIPE, text=True,
    )
    assert subscriber.stdout is not None and broker.process is not None
    if subscriber.stdout.readline().strip() != "ready":
        raise RuntimeError("the raw subscriber did not start")
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-pub")
    pub.max_inflight_messages_set(64)
    pub.max_queued_messages_set(0)
    # MQTT message ids are 16-bit: keep at most 1,000 unacknowledged, or paho refuses to queue.
    window = threading.BoundedSemaphore(1000)
    pub.on_publish = lambda *_args: window.release()
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    body = (
        '{"v":1,"id":"%032d","device":"sim-01","seq":%d,"type":"sim.counter","body":{"n":1,"pad":"'
        + PAYLOAD_PAD
        + '"}}'
    )
    cpu = {"subscriber": cpu_seconds(subscriber.pid), "broker": cpu_seconds(broker.process.pid),
           "publisher": own_cpu_seconds()}
    start = time.perf_counter()
    for n in range(count):
        window.acquire()
        pub.publish("bench/raw", body % (n, n), qos=1)
    finished = subscriber.stdout.readline().split()
    elapsed = time.perf_counter() - start
    used = {"subscriber": cpu_seconds(subscriber.pid), "broker": cpu_seconds(broker.process.pid),
            "publisher": own_cpu_seconds()}
    subscriber.wait(30)
    pub.loop_stop()
    pub.disconnect()
    if len(finished) != 2 or int(finished[1]) < count:
        raise RuntimeError(f"the raw subscriber received {finished} of {count}")
    return Measured(count / elapsed, {k: (used[k] - cpu[k]) * 1e6 / count for k in cpu})


def prefill(path: Path, count: int) -> str:
    """Fill a device's outbox with `count` events; returns the last one's id."""
    outbox = Outbox(path, OutboxSettings(max_bytes=1 << 34, min_free_disk_bytes=0))
    # Only to fill the backlog fast: the drain, not the filling, is measured here.
    outbox.database.connection.execute("PRAGMA synchronous=OFF")
    recorder = EventRecorder(outbox, "sim-01", SystemClock())
    last = ""
    for n in range(1, count + 1):
        last = recorder.record("sim.counter", {"n": n, "pad": PAYLOAD_PAD}).event_id
    outbox.close()
    return last


def count_rows(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute(sql).fetchone()
            return int(row[0] or 0)
    except sqlite3.OperationalError:
        return 0


def drain(root: Path, broker: MosquittoBroker, count: int) -> Measured:
    """EVENTS in a device's outbox until central holds them all and every outbox is empty."""
    outbox_path = root / "sim" / "outbox.sqlite"
    last_event = prefill(outbox_path, count)
    central_db, gateway_db = root / "central" / "events.sqlite", root / "gw" / "gateway.sqlite"
    (root / "central.toml").write_text(
        f'data_dir = "{root}/central"\n[broker]\nport = {broker.port}\n[http]\nport = 0\n'
        '[ingest]\nhalls = [{hall = "hall-01", gateway = "gw-hall-01"}]\n'
    )
    (root / "gateway.toml").write_text(
        f'store_path = "{gateway_db}"\n[hall_broker]\nport = {broker.port}\n'
        f'[central_broker]\nport = {broker.port}\n[devices]\nknown = [{{id = "sim-01"}}]\n'
    )
    central = role("central", root / "central.toml", root / "central.log", "run")
    gateway = role("gateway", root / "gateway.toml", root / "gateway.log", "run")
    assert broker.process is not None
    try:
        # Ready: both have made their tables and subscribed (their start-up is not the drain).
        wait_for(lambda: count_rows(central_db, "SELECT count(*) FROM sqlite_master") > 0
                 and count_rows(gateway_db, "SELECT count(*) FROM sqlite_master") > 0, 60, "the roles")
        time.sleep(1.0)  # let both subscribe before the clock starts
        agent = EdgeAgent(AgentConfig.model_validate({
            "device": {"id": "sim-01", "hall": "hall-01", "kind": "sim"},
            "broker": {"port": broker.port},
            "outbox": {"path": str(outbox_path), "max_bytes": 1 << 34, "min_free_disk_bytes": 0},
        }))
        pids = {"gateway": gateway.pid, "central": central.pid, "broker": broker.process.pid}
        before = {name: cpu_seconds(pid) for name, pid in pids.items()} | {"device": own_cpu_seconds()}
        start = time.perf_counter()
        agent.start()
        # The spine keeps each stream's order, so central holds the whole backlog once it holds
        # the last event: looked up by its id, not by counting the table every 20 ms (a count of
        # tens of thousands of rows in this process took CPU from the roles being measured).
        holds_last = f"SELECT count(*) FROM events WHERE event_id = '{last_event}'"
        wait_for(lambda: count_rows(central_db, holds_last) == 1, 900, "central to hold the whole backlog")
        wait_for(lambda: count_rows(gateway_db, "SELECT count(*) FROM outbox") == 0
                 and agent.uplink.drained(), 900, "every outbox to drain")
        elapsed = time.perf_counter() - start
        after = {name: cpu_seconds(pid) for name, pid in pids.items()} | {"device": own_cpu_seconds()}
        agent.stop()
        held = count_rows(central_db, "SELECT count(*) FROM events WHERE type='sim.counter'")
        if held != count:
            raise RuntimeError(f"central holds {held} of the {count} events")
        return Measured(count / elapsed, {k: (after[k] - before[k]) * 1e6 / count for k in before})
    finally:
        stop([gateway, central])


def one_run(root: Path, events: int, raw_first: bool) -> tuple[Measured, Measured]:
    # Raw paho has no flow control from its subscriber back to its publisher: the broker must
    # queue without bound, or it drops what the slower subscriber has not taken yet. The
    # spine never queues more than its windows, so the bound changes nothing for the drain.
    broker = MosquittoBroker(BrokerOptions(free_port(), root / "broker", max_queued_messages=0,
                                           max_queued_bytes=0))
    broker.start()
    try:
        if raw_first:
            raw = raw_paho(broker, events)
            drained = drain(root, broker, events)
        else:
            drained = drain(root, broker, events)
            raw = raw_paho(broker, events)
        return raw, drained
    finally:
        broker.stop()


def written_bytes() -> int:
    with open("/proc/self/io") as io:
        for line in io:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


def outbox_appends(root: Path, count: int) -> tuple[float, float]:
    recorder = EventRecorder(Outbox(root / "appends.sqlite", OutboxSettings()), "sim-01", SystemClock())
    before = written_bytes()
    start = time.perf_counter()
    for n in range(1, count + 1):
        recorder.record("sim.counter", {"n": n, "pad": PAYLOAD_PAD})
    elapsed = time.perf_counter() - start
    return count / elapsed, (written_bytes() - before) / count


def plain_sqlite_appends(root: Path, count: int) -> tuple[float, float]:
    conn = sqlite3.connect(root / "plain.sqlite", isolation_level=None)
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)")
    payload = "x" * 300
    before = written_bytes()
    start = time.perf_counter()
    for _ in range(count):
        conn.execute("INSERT INTO t (payload) VALUES (?)", (payload,))
    elapsed = time.perf_counter() - start
    return count / elapsed, (written_bytes() - before) / count


def cpu_line(measured: list[Measured]) -> str:
    names = measured[0].cpu_ms
    return "  ".join(f"{name} {median([m.cpu_ms[name] for m in measured]):,.0f}" for name in names)


def main() -> None:
    args = [arg for arg in sys.argv[1:] if arg.isdigit()]
    events = int(args[0]) if args else 50_000
    runs = int(args[1]) if len(args) > 1 else 5
    raws: list[Measured] = []
    drains: list[Measured] = []
    ratios: list[float] = []
    loads = [load()]
    for run in range(runs):
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR", ".")) as tmp:
            raw, drained = one_run(Path(tmp), events, raw_first=run % 2 == 0)
        raws.append(raw)
        drains.append(drained)
        ratios.append(drained.rate / raw.rate)
        print(f"  run {run + 1}: raw {raw.rate:8,.0f} msg/s   drain {drained.rate:8,.0f} ev/s   "
              f"{drained.rate / raw.rate:5.2f} x raw   ({load()})", flush=True)
        loads.append(load())
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR", ".")) as tmp:
        appends, bytes_per_event = outbox_appends(Path(tmp), 2000)
        plain_appends, plain_bytes = plain_sqlite_appends(Path(tmp), 2000)
    raw_rate = median([m.rate for m in raws])
    drain_rate = median([m.rate for m in drains])
    ratio = median(ratios)
    print(f"backlog of {events:,} events, one machine, one Mosquitto; median of {runs} alternated runs")
    print(f"  raw paho QoS 1 publish->subscribe       {raw_rate:>10,.0f} msg/s   (baseline; "
          f"{spread([m.rate for m in raws])})")
    print(f"  drain device->gateway->central, acked   {drain_rate:>10,.0f} ev/s    {ratio:5.2f} x raw   "
          f"(target >= {TARGET} x raw; {spread([m.rate for m in drains])})")
    print(f"  CPU ms per 1,000 events, raw:    {cpu_line(raws)}")
    print(f"  CPU ms per 1,000 events, drain:  {cpu_line(drains)}")
    print(f"  machine: {loads[0]} at the start, {loads[-1]} at the end")
    print("durable outbox appends (synchronous=FULL, one commit per event)")
    print(
        f"  hallwatch outbox (WAL, 1 KiB pages)     {appends:>10,.0f} ev/s    "
        f"{bytes_per_event:8,.0f} bytes written/event"
    )
    print(
        f"  plain SQLite, rollback journal          {plain_appends:>10,.0f} ev/s    "
        f"{plain_bytes:8,.0f} bytes written/event   (baseline)"
    )


if __name__ == "__main__":
    main()
