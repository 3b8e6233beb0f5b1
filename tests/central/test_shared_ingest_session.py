"""Why a member of central's shared ingest group connects with a clean session
(`spine.mqtt.connect_clean`), against a real Mosquitto: a member that died keeps no share of
the group's messages, and a process that moves into the group leaves the plain subscription of
its old persistent session behind. With `connect_persistent` instead, both fail (the
parametrised counterparts)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import paho.mqtt.client as mqtt
import pytest

from spine.broker.runner import MosquittoBroker
from spine.config import BrokerSettings
from spine.mqtt import Will, connect_clean, connect_persistent, make_client
from tests.support import wait_until

SHARED = "$share/central/central/+/events"
PLAIN = "central/+/events"
DONE = "central/test/done"
GONE = "central/test/gone"
Connect = Callable[[mqtt.Client, BrokerSettings], None]


def persistent(client: mqtt.Client, broker: BrokerSettings) -> None:
    connect_persistent(client, broker, 3600)


class Member:
    """One subscriber: what it received on the events topics, and whether it heard `DONE`."""

    def __init__(self, client_id: str, broker: MosquittoBroker, connect: Connect, topic: str) -> None:
        self.received: list[bytes] = []
        self.done = threading.Event()
        self.other_gone = threading.Event()
        self.subscribed = threading.Event()
        # Its will tells the others once the broker has seen its connection end.
        self.client = make_client(client_id, BrokerSettings(port=broker.port),
                                  will=Will(GONE, client_id, retain=False))
        self.client.on_connect = lambda client, *_: client.subscribe([(topic, 1), (DONE, 1), (GONE, 1)])
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._message
        connect(self.client, BrokerSettings(port=broker.port))
        self.client.loop_start()
        wait_until(self.subscribed.is_set, 10, f"{client_id} to subscribe")

    def _message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        if message.topic == DONE:
            self.done.set()
        elif message.topic == GONE:
            self.other_gone.set()
        else:
            self.received.append(bytes(message.payload))

    def vanish(self) -> None:
        """Gone without a DISCONNECT, as a killed process (its socket closed by the kernel)."""
        self.client.loop_stop()
        sock = self.client.socket()
        assert sock is not None
        sock.close()

    def leave(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher(broker: MosquittoBroker) -> Iterator[Callable[[list[str]], None]]:
    client = make_client("gw-test", BrokerSettings(port=broker.port))
    client.connect("127.0.0.1", broker.port)
    client.loop_start()

    def publish(payloads: list[str]) -> None:
        for payload in payloads:
            client.publish("central/hall-01/events", payload, qos=1).wait_for_publish(5)
        # Published after them on the same connection: heard, so were they (or never will be).
        client.publish(DONE, "", qos=1).wait_for_publish(5)

    yield publish
    client.disconnect()
    client.loop_stop()


@pytest.mark.parametrize(("connect", "survivor_gets_all"), [(connect_clean, True), (persistent, False)],
                         ids=["clean", "persistent"])
def test_a_dead_member_keeps_no_share_of_the_stream_only_with_a_clean_session(
        broker: MosquittoBroker, publisher: Callable[[list[str]], None], connect: Connect,
        survivor_gets_all: bool) -> None:
    dead = Member("central-a-ingest", broker, connect, SHARED)
    survivor = Member("central-b-ingest", broker, connect, SHARED)
    dead.vanish()
    # Its will, published once the broker has seen the connection end: what is published from
    # now on is dealt to the survivor, or queued for the dead member's session.
    wait_until(survivor.other_gone.is_set, 10, "the broker to see the dead member's connection end")
    publisher([str(n) for n in range(10)])
    wait_until(survivor.done.is_set, 10, "the survivor to hear the end")
    got = len(survivor.received)
    survivor.leave()
    assert (got == 10) is survivor_gets_all, f"the survivor got {got} of 10"


@pytest.mark.parametrize(("connect", "once"), [(connect_clean, True), (persistent, False)],
                         ids=["clean", "persistent"])
def test_a_process_moving_into_the_group_leaves_its_old_plain_subscription_behind(
        broker: MosquittoBroker, publisher: Callable[[list[str]], None], connect: Connect,
        once: bool) -> None:
    before = Member("central-a-ingest", broker, persistent, PLAIN)  # one central, as before
    before.leave()  # its session stays with the broker, subscriptions and all
    a = Member("central-a-ingest", broker, connect, SHARED)
    b = Member("central-b-ingest", broker, connect, SHARED)
    publisher([str(n) for n in range(10)])
    wait_until(lambda: a.done.is_set() and b.done.is_set(), 10, "both members to hear the end")
    delivered = len(a.received) + len(b.received)
    a.leave()
    b.leave()
    assert (delivered == 10) is once, f"{delivered} deliveries of 10 messages"
