"""Backlog drain and outbox cost: the spine measured beside raw paho-mqtt through the same broker.

    python -m bench.drain [EVENTS]

1. Raw: paho-mqtt QoS 1 publish -> Mosquitto -> QoS 1 subscriber, one message per event.
2. Drain: EVENTS already in an edge outbox, through Mosquitto and a gateway process into a
   central process, stored and acknowledged at every hop (the edge outbox empty at the end).
3. Durable outbox appends per second and bytes written to disk per event, beside a plain
   SQLite insert-per-commit in rollback-journal mode.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.runtime.agent import AgentConfig, EdgeAgent
from spine.broker.runner import BrokerOptions, MosquittoBroker, free_port
from spine.clock import SystemClock
from spine.config import OutboxSettings
from spine.outbox import Outbox
from spine.recorder import EventRecorder

PAYLOAD_PAD = "x" * 80  # a ticket or rating event is about 300 bytes on the wire


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


def raw_paho_rate(port: int, count: int) -> float:
    """Publisher here, subscriber in its own process (as the gateway is), both QoS 1."""
    subscriber = subprocess.Popen(
        [sys.executable, "-c", RAW_SUBSCRIBER, str(port), str(count)], stdout=subprocess.PIPE, text=True
    )
    assert subscriber.stdout is not None
    if subscriber.stdout.readline().strip() != "ready":
        raise RuntimeError("the raw subscriber did not start")
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-pub")
    pub.max_inflight_messages_set(64)
    pub.max_queued_messages_set(0)
    # MQTT message ids are 16-bit: keep at most 1,000 unacknowledged, or paho refuses to queue.
    window = threading.BoundedSemaphore(1000)
    pub.on_publish = lambda *_args: window.release()
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    body = (
        '{"v":1,"id":"%032d","device":"sim-01","seq":%d,"type":"sim.counter","body":{"n":1,"pad":"'
        + PAYLOAD_PAD
        + '"}}'
    )
    start = time.perf_counter()
    for n in range(count):
        window.acquire()
        pub.publish("bench/raw", body % (n, n), qos=1)
    finished = subscriber.stdout.readline().split()
    elapsed = time.perf_counter() - start
    subscriber.wait(30)
    pub.loop_stop()
    pub.disconnect()
    if len(finished) != 2 or int(finished[1]) < count:
        raise RuntimeError(f"the raw subscriber received {finished} of {count}")
    return count / elapsed


def prefill(path: Path, count: int) -> None:
    outbox = Outbox(path, OutboxSettings(max_bytes=1 << 34))
    # Only to fill the backlog fast: the drain, not the filling, is measured here.
    outbox._db.execute("PRAGMA synchronous=OFF")  # noqa: SLF001
    recorder = EventRecorder(outbox, "sim-01", SystemClock())
    for n in range(1, count + 1):
        recorder.record("sim.counter", {"n": n, "pad": PAYLOAD_PAD})
    outbox.close()


def count_rows(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute(sql).fetchone()
            return int(row[0] or 0)
    except sqlite3.OperationalError:
        return 0


def drain_rate(root: Path, port: int, count: int) -> tuple[float, float]:
    """(events/s device->central acknowledged, events/s device->gateway acknowledged)."""
    outbox_path = root / "sim" / "outbox.sqlite"
    prefill(outbox_path, count)
    (root / "central.toml").write_text(f'data_dir = "{root}/central"\n[broker]\nport = {port}\n')
    (root / "gateway.toml").write_text(
        f'store_path = "{root}/gw/gateway.sqlite"\n[hall_broker]\nport = {port}\n'
        f'[central_broker]\nport = {port}\n[devices]\nknown = [{{id = "sim-01"}}]\n'
    )
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hallwatch",
                "--log-level",
                "WARNING",
                role,
                "run",
                "--config",
                str(root / f"{role}.toml"),
            ]
        )
        for role in ("central", "gateway")
    ]
    try:
        time.sleep(1.5)  # let both connect and subscribe before the clock starts
        agent = EdgeAgent(
            AgentConfig.model_validate(
                {
                    "device": {"id": "sim-01", "hall": "hall-01", "kind": "sim"},
                    "broker": {"port": port},
                    "outbox": {"path": str(outbox_path), "max_bytes": 1 << 34},
                }
            )
        )
        start = time.perf_counter()
        agent.start()
        agent.uplink.wait_drained(900)
        gateway_done = time.perf_counter() - start
        central_db = root / "central" / "events.sqlite"
        deadline = time.monotonic() + 900
        while count_rows(central_db, "SELECT count(*) FROM events WHERE type='sim.counter'") < count:
            if time.monotonic() > deadline:
                raise RuntimeError("central did not receive the whole backlog")
            time.sleep(0.05)
        gw_db = root / "gw" / "gateway.sqlite"
        while count_rows(gw_db, "SELECT count(*) FROM outbox") > 0:
            time.sleep(0.05)
        central_done = time.perf_counter() - start
        agent.stop()
        return count / central_done, count / gateway_done
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(20)


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


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 100_000
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR", ".")) as tmp:
        root = Path(tmp)
        broker = MosquittoBroker(BrokerOptions(free_port(), root / "broker"))
        broker.start()
        try:
            raw = raw_paho_rate(broker.port, events)
            to_central, to_gateway = drain_rate(root, broker.port, events)
        finally:
            broker.stop()
        appends, bytes_per_event = outbox_appends(root, 2000)
        plain_appends, plain_bytes = plain_sqlite_appends(root, 2000)
    print(f"backlog of {events} events, one machine, one Mosquitto")
    print(f"  raw paho QoS 1 publish->subscribe     {raw:>10,.0f} msg/s   (baseline)")
    print(
        f"  drain device->gateway, acknowledged   {to_gateway:>10,.0f} ev/s    {to_gateway / raw:5.2f} x raw"
    )
    print(
        f"  drain device->gateway->central, acked {to_central:>10,.0f} ev/s    {to_central / raw:5.2f} x raw"
        "   (target >= 0.5 x raw)"
    )
    print("durable outbox appends (synchronous=FULL, one commit per event)")
    print(
        f"  hallwatch outbox (WAL, 1 KiB pages)   {appends:>10,.0f} ev/s    "
        f"{bytes_per_event:8,.0f} bytes written/event"
    )
    print(
        f"  plain SQLite, rollback journal        {plain_appends:>10,.0f} ev/s    "
        f"{plain_bytes:8,.0f} bytes written/event"
        "   (baseline)"
    )


if __name__ == "__main__":
    main()
