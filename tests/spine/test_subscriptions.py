"""A link is connected only once its subscriptions are in place at the broker.

Between CONNACK and SUBACK a new session has no subscriptions: an ack or a command
published to the device then would be dropped by the broker. The uplink must not say it is
connected (nor send, nor announce itself online) before the broker has granted them.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from contract.topics import device_link
from edge.runtime.agent import AgentConfig, EdgeAgent
from spine.broker.runner import MosquittoBroker
from tests.support import wait_until

_SUBSCRIBE, _SUBACK, _PUBLISH = 8, 9, 3


class SlowSubscribeLink:
    """A TCP hop in front of a real broker that carries SUBSCRIBE packets `delay_s` late,
    as a busy broker or a slow link would, and notes the order of what crosses it."""

    def __init__(self, broker_port: int, delay_s: float) -> None:
        self.broker_port = broker_port
        self.delay_s = delay_s
        self.seen: list[tuple[str, str]] = []  # ("subscribe" | "suback" | "publish", topic)
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()
        for sock in self._sockets:
            sock.close()

    def _note(self, what: str, topic: str = "") -> None:
        with self._lock:
            self.seen.append((what, topic))

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.broker_port))
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, from_client: bool) -> None:
        try:
            while True:
                packet = _read_packet(source)
                kind = packet[0] >> 4
                if from_client and kind == _SUBSCRIBE:
                    self._note("subscribe")
                    time.sleep(self.delay_s)  # the slow hop this double stands for
                elif from_client and kind == _PUBLISH:
                    self._note("publish", _publish_topic(packet))
                elif not from_client and kind == _SUBACK:
                    self._note("suback")
                target.sendall(packet)
        except OSError:
            for sock in (source, target):
                sock.close()


def _read_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


def _read_packet(sock: socket.socket) -> bytes:
    """One MQTT control packet: fixed header byte, variable-length remaining length, the rest."""
    header = _read_exact(sock, 1)
    length, shift, length_bytes = 0, 0, b""
    while True:
        byte = _read_exact(sock, 1)
        length_bytes += byte
        length |= (byte[0] & 0x7F) << shift
        shift += 7
        if not byte[0] & 0x80:
            break
    return header + length_bytes + _read_exact(sock, length)


def _publish_topic(packet: bytes) -> str:
    offset = 1
    while packet[offset] & 0x80:
        offset += 1
    offset += 1
    size = int.from_bytes(packet[offset:offset + 2], "big")
    return packet[offset + 2:offset + 2 + size].decode()


@pytest.fixture
def slow_link(broker: MosquittoBroker) -> Iterator[SlowSubscribeLink]:
    link = SlowSubscribeLink(broker.port, delay_s=0.5)
    yield link
    link.close()


def test_a_command_sent_as_soon_as_the_device_says_it_is_connected_reaches_it(
    tmp_path: Path, broker: MosquittoBroker, slow_link: SlowSubscribeLink
) -> None:
    link = device_link("hall-01", "sim-01")
    agent = EdgeAgent(AgentConfig.model_validate({
        "device": {"id": "sim-01", "hall": "hall-01", "kind": "sim"},
        "broker": {"port": slow_link.port},
        "outbox": {"path": str(tmp_path / "sim-01" / "outbox.sqlite")},
    }))
    heard: list[bytes] = []
    agent.on_command(lambda message: heard.append(bytes(message.payload)))
    agent.record("sim.counter", {"n": 1})  # waiting to go the moment the link is up
    operator = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="operator",
                           protocol=MQTTProtocolVersion.MQTTv5)
    operator.connect("127.0.0.1", broker.port)
    operator.loop_start()
    agent.start()
    try:
        wait_until(lambda: agent.uplink.stats.connected, 10, "the device to say it is connected")
        operator.publish(link.commands, b'{"ping": 1}', qos=1).wait_for_publish(5)
        wait_until(lambda: heard, 10, "the command at the device")
        assert heard == [b'{"ping": 1}']

        wait_until(lambda: ("publish", link.events) in slow_link.seen, 10, "the event on its way")
        first_suback = slow_link.seen.index(("suback", ""))
        # Neither the online status nor the first batch went out before the subscriptions held.
        assert slow_link.seen.index(("publish", link.status)) > first_suback
        assert slow_link.seen.index(("publish", link.events)) > first_suback
    finally:
        agent.stop()
        operator.loop_stop()
        operator.disconnect()
