"""A real full disk under an agent: routine events dropped and counted, essential ones kept or refused
loudly, the agent running throughout, saying so, and reporting every drop once space returns.

The disk is a small tmpfs mounted by the test under the agent's data directory
and filled with a ballast file; deleting the ballast is space coming back.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.runtime.agent import AgentConfig, EdgeAgent
from gateway.config import GatewayConfig
from gateway.service import GatewayService
from spine.broker.runner import MosquittoBroker
from spine.outbox import OutboxFull
from tests.support import wait_until
from tests.support.processes import HallProcess

HALL = "hall-01"
FLOOR = 128 * 1024  # min_free_disk_bytes of the agents here


@dataclass
class SmallDisk:
    path: Path
    ballast: Path

    def fill(self) -> None:
        """Write until the filesystem says no more: not one byte is left."""
        chunk = b"\0" * 4096
        handle = os.open(self.ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            while True:
                os.write(handle, chunk)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
        finally:
            os.close(handle)
        assert os.statvfs(self.path).f_bavail == 0

    def free(self) -> None:
        self.ballast.unlink()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root); the outbox tests cover the logic")
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (a container without CAP_SYS_ADMIN?): {mounted.stderr}")
    try:
        yield SmallDisk(where, where / "ballast")
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def gateway(tmp_path: Path, broker: MosquittoBroker) -> Iterator[GatewayService]:
    service = GatewayService(GatewayConfig.model_validate({
        "gateway": {"id": "gw-hall-01", "hall": HALL},
        "store_path": str(tmp_path / "gateway" / "gateway.sqlite"),  # on the ordinary disk
        "hall_broker": {"port": broker.port},
        "central_broker": {"port": broker.port},
        "uplink": {"heartbeat_s": 1},
        "devices": {"known": [{"id": "sim-01"}, {"id": "sim-02"}]},
    }))
    service.start()
    yield service
    service.stop()


class StatusWatch:
    """The retained status a device publishes, as the gateway (or anyone) sees it."""

    def __init__(self, port: int, device: str) -> None:
        self.latest: dict[str, Any] = {}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"watch-{device}")
        self.client.on_message = lambda _c, _u, message: self._seen(message.payload)
        self.client.on_connect = lambda client, *_a: client.subscribe(
            f"hall/{HALL}/dev/{device}/status", qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _seen(self, payload: bytes) -> None:
        if payload:
            self.latest = json.loads(payload)

    def storage(self) -> str | None:
        return (self.latest.get("storage") or {}).get("state")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def agent_config(disk: Path, port: int, device: str) -> dict[str, Any]:
    return {
        "device": {"id": device, "hall": HALL, "kind": "sim"},
        "broker": {"port": port},
        "outbox": {"path": str(disk / device / "outbox.sqlite"), "min_free_disk_bytes": FLOOR},
        "uplink": {"heartbeat_s": 1, "ack_timeout_s": 1},
    }


@dataclass
class Recording:
    """A device recording an essential event and a routine one, over and over, from its own thread."""

    agent: EdgeAgent
    stored: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    routine_stored: int = 0
    routine_dropped: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                self.agent.record("sim.counter", {"n": n, "pad": "x" * 200})
                self.stored.append(n)
            except OutboxFull:
                self.refused.append(n)  # loudly: the caller knows it was not recorded
            if self.agent.record("sim.reading", {"n": n, "value": 1.0}).stored:
                self.routine_stored += 1
            else:
                self.routine_dropped += 1
            self.stop.wait(0.005)  # a busy device's pace, not a wait for a condition


def gateway_counts(gateway: GatewayService, device: str) -> tuple[list[int], int]:
    """(sim.counter numbers in arrival order, the total every device.dropped reported)."""
    numbers = [int(n) for (n,) in gateway.db.query(
        "SELECT json_extract(payload, '$.body.n') FROM events WHERE device = ? AND type = 'sim.counter' "
        "ORDER BY id", (device,))]
    ((reported,),) = gateway.db.query(
        "SELECT coalesce(sum(json_extract(payload, '$.body.total')), 0) FROM events "
        "WHERE device = ? AND type = 'device.dropped'", (device,))
    return numbers, int(reported)


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def test_an_agent_on_a_full_disk_keeps_running_and_reports_every_drop_once_space_returns(
    small_disk: SmallDisk, broker: MosquittoBroker, gateway: GatewayService
) -> None:
    agent = EdgeAgent(AgentConfig.model_validate(agent_config(small_disk.path, broker.port, "sim-01")))
    status = StatusWatch(broker.port, "sim-01")
    agent.start()
    recording = Recording(agent)
    recorder = threading.Thread(target=recording.run, name="recording")
    recorder.start()
    try:
        wait_until(lambda: len(gateway_counts(gateway, "sim-01")[0]) >= 20, 30, "events at the gateway")

        small_disk.fill()
        wait_until(lambda: recording.routine_dropped >= 20 and len(recording.refused) >= 20, 30,
                   "routine events dropped and essential ones refused")
        wait_until(lambda: status.storage() == "full", 30, "the device's status to say its disk is full")
        assert agent.diagnostics()["outbox"]["storage"]["state"] == "full"

        small_disk.free()
        wait_until(lambda: status.storage() == "ok", 30, "the device's status to say there is room again")
        stored_before = len(recording.stored)
        wait_until(lambda: len(recording.stored) > stored_before + 20, 30, "recording to resume")
    finally:
        recording.stop.set()
        recorder.join(10)
    try:
        wait_until(lambda: agent.outbox.unreported_drops() == {} and agent.uplink.drained(), 60,
                   "every drop reported and every event forwarded")
        numbers, reported = gateway_counts(gateway, "sim-01")
        dropped = sum(n for by_type in agent.outbox.drop_totals().values() for n in by_type.values())

        assert numbers == recording.stored  # every essential event kept, once, in order
        assert set(recording.refused).isdisjoint(numbers)  # a refused one was never half-recorded
        assert dropped == recording.routine_dropped > 0  # every routine drop counted
        assert reported == dropped  # ... and reported once
        alive = {thread.name for thread in threading.enumerate() if thread.is_alive()}
        assert {"uplink-sim-01", "outbox-watch"} <= alive  # nothing the full disk could end
    finally:
        status.close()
        agent.stop()
    assert integrity(small_disk.path / "sim-01" / "outbox.sqlite") == "ok"


def test_a_simulated_device_on_a_full_disk_waits_for_room_and_carries_on(
    tmp_path: Path, small_disk: SmallDisk, broker: MosquittoBroker, gateway: GatewayService
) -> None:
    config = tmp_path / "sim-02.toml"
    settings = agent_config(small_disk.path, broker.port, "sim-02")
    config.write_text(
        f'[device]\nid = "sim-02"\nhall = "{HALL}"\nkind = "sim"\n[broker]\nport = {broker.port}\n'
        f'[outbox]\npath = "{settings["outbox"]["path"]}"\nmin_free_disk_bytes = {FLOOR}\n'
        f"[uplink]\nheartbeat_s = 1\nack_timeout_s = 1\n"
    )
    device = HallProcess("sim-02", ["device", "simulate", "--config", str(config), "--events", "400",
                                    "--rate", "100", "--exit-when-drained"], tmp_path).start()
    status = StatusWatch(broker.port, "sim-02")
    try:
        wait_until(lambda: len(gateway_counts(gateway, "sim-02")[0]) >= 20, 30, "events at the gateway")
        small_disk.fill()
        wait_until(lambda: status.storage() == "full", 30, "the device's status to say its disk is full")
        wait_until(lambda: "trying again every" in device.log(), 30, "the device to say it waits for room")
        assert device.running()

        small_disk.free()
        assert device.wait(60) == 0, device.log()[-3000:]
        assert "Traceback" not in device.log()
        assert gateway_counts(gateway, "sim-02")[0] == list(range(1, 401))  # none lost, none doubled
    finally:
        status.close()
        device.kill()
    assert integrity(small_disk.path / "sim-02" / "outbox.sqlite") == "ok"
