"""Memory and idle CPU of an edge agent process, beside a bare Python process with paho loaded.

python -m bench.edge_footprint
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from spine.broker.runner import BrokerOptions, MosquittoBroker, free_port

IDLE_SECONDS = 10.0


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def measure(args: list[str], settle: float = 3.0) -> tuple[float, float]:
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(settle)  # start-up is not idle: let imports and the first connect finish
        before = cpu_seconds(process.pid)
        time.sleep(IDLE_SECONDS)  # the measurement window itself
        used = cpu_seconds(process.pid) - before
        return rss_mib(process.pid), 100.0 * used / IDLE_SECONDS
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        broker = MosquittoBroker(BrokerOptions(free_port(), root / "broker"))
        broker.start()
        try:
            config = root / "sim.toml"
            config.write_text(
                f'[device]\nid = "sim-01"\nhall = "hall-01"\nkind = "sim"\n[broker]\nport = {broker.port}\n'
                f'[outbox]\npath = "{root}/outbox.sqlite"\n'
            )
            agent = measure(
                [
                    sys.executable,
                    "-m",
                    "hallwatch",
                    "device",
                    "simulate",
                    "--config",
                    str(config),
                    "--events",
                    "10",
                ]
            )
            bare = measure([sys.executable, "-c", "import paho.mqtt.client, time; time.sleep(60)"])
        finally:
            broker.stop()
    print(f"idle edge agent over {IDLE_SECONDS:.0f} s (connected, heartbeating, outbox drained)")
    print(f"  hallwatch device agent     RSS {agent[0]:6.1f} MiB   CPU {agent[1]:5.2f} % of one core")
    print(f"  bare python + paho import  RSS {bare[0]:6.1f} MiB   CPU {bare[1]:5.2f} %   (baseline)")


if __name__ == "__main__":
    main()
