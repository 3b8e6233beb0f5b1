"""paho-mqtt 2.x clients configured one way for every hop: MQTT 5, persistent sessions, TLS."""

from __future__ import annotations

import logging
import queue
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from spine.config import BrokerSettings
from spine.database import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Will:
    topic: str
    payload: str
    retain: bool = True


def make_client(
    client_id: str,
    broker: BrokerSettings,
    *,
    will: Will | None = None,
    manual_ack: bool = False,
    reconnect_min_s: float = 0.5,
    reconnect_max_s: float = 30.0,
) -> mqtt.Client:
    """A client with a pinned id (its session survives reconnects), credentials and TLS set.
    A receiver's (`manual_ack`) can hold what it publishes until a commit (`CommitGroups`)."""
    client = (ReceiverClient if manual_ack else mqtt.Client)(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=manual_ack,
    )
    # Unbounded local queue: our outbox bounds what we hand paho, never paho itself.
    client.max_queued_messages_set(0)
    client.max_inflight_messages_set(64)
    client.reconnect_delay_set(
        min_delay=max(1, round(reconnect_min_s)), max_delay=max(1, round(reconnect_max_s))
    )
    if broker.username:
        client.username_pw_set(broker.username, broker.resolved_password())
    if broker.tls_ca is not None:
        client.tls_set(
            ca_certs=str(broker.tls_ca),
            certfile=str(broker.tls_cert) if broker.tls_cert else None,
            keyfile=str(broker.tls_key) if broker.tls_key else None,
            cert_reqs=ssl.CERT_REQUIRED,
        )
    if will is not None:
        client.will_set(will.topic, will.payload, qos=1, retain=will.retain)
    return client


def connect_persistent(
    client: mqtt.Client, broker: BrokerSettings, session_expiry_s: int
) -> None:
    """Connect in the background with a persistent session (clean_start=False).

    The broker keeps our subscriptions and queues QoS 1 messages for us for
    `session_expiry_s` while we are away; paho reconnects with backoff.
    """
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = session_expiry_s
    client.connect_async(
        broker.host,
        broker.port,
        keepalive=broker.keepalive_s,
        clean_start=False,
        properties=properties,
    )


def connect_clean(client: mqtt.Client, broker: BrokerSettings) -> None:
    """Connect in the background with a session that ends with each connection (clean start,
    session expiry 0); the client subscribes again at every connect.

    For a member of an MQTT 5 shared subscription. The broker goes on sharing a group's
    messages with a member whose session outlives its connection: Mosquitto 2.0 queues every
    other message for a member that died, until it returns or its session expires, and the
    senders' streams stall on the gap. A clean member's messages go to the live members the
    moment its connection ends; what it held unacknowledged is dropped, and its senders
    resend it (they resend whatever is not acknowledged).
    """
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 0
    client.connect_async(
        broker.host,
        broker.port,
        keepalive=broker.keepalive_s,
        clean_start=True,
        properties=properties,
    )


def acknowledge_after(
    client: mqtt.Client, message: mqtt.MQTTMessage, process: Callable[[mqtt.MQTTMessage], None]
) -> None:
    """For a receiver with `manual_ack`: PUBACK a message only once `process` has committed it.

    Not acknowledged, the broker redelivers it after a reconnect and the sender resends
    it after its ack timeout, so nothing is lost while the receiver is unwell.
    """
    try:
        process(message)
    except Exception:
        log.exception("could not process a message on %s; it will come again", message.topic)
        return
    if message.qos > 0:
        client.ack(message.mid, message.qos)


def reason_text(reason_code: object) -> str:
    return str(getattr(reason_code, "getName", lambda: reason_code)())


class ReceiverClient(mqtt.Client):
    """A receiver's client: what a thread publishes while it holds (`held()`) waits in order,
    to go out once that thread's commit holds, or never."""

    _holding = threading.local()

    def publish(self, topic: str, payload: Any = None, qos: int = 0, retain: bool = False,
                properties: Properties | None = None) -> mqtt.MQTTMessageInfo:
        holder, held = getattr(self._holding, "messages", (None, None))
        if holder is not self or held is None:
            return super().publish(topic, payload, qos, retain, properties)
        held.append((topic, payload, qos, retain))
        info = mqtt.MQTTMessageInfo(0)
        info.rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        return info

    @contextmanager
    def held(self) -> Iterator[list[tuple[str, Any, int, bool]]]:
        """Hold what this thread publishes on this client; the caller sends the list (or drops
        it) once it knows whether the commit held."""
        messages: list[tuple[str, Any, int, bool]] = []
        self._holding.messages = (self, messages)
        try:
            yield messages
        finally:
            self._holding.messages = (None, None)


class CommitGroups:
    """Acknowledge after commit, for a receiver under load: one commit for all that waits.

    paho hands messages over one at a time; committing each alone costs one fsync per
    message, and a hall of 200 devices sending small batches would wait on its gateway's
    disk. Here paho's thread only queues a message; one worker thread takes everything
    queued, runs `process` for each inside one `Database.group()` (each message's work a
    savepoint that fails alone), and only once that commit holds sends what `process`
    published (the acks, live messages) and the PUBACKs of the messages that went through.
    A failed commit sends nothing: the broker redelivers, the senders resend.

    At most `max_group` messages wait here: beyond that paho's thread waits too, and the
    broker keeps the rest (as it did when each message was committed in paho's thread).
    """

    def __init__(self, client: ReceiverClient, database: Database,
                 process: Callable[[mqtt.MQTTMessage], None], *, name: str, max_group: int = 100,
                 max_group_bytes: int = 4 * 1024 * 1024) -> None:
        self.client = client
        self.database = database
        self.process = process
        self.max_group = max_group
        self.max_group_bytes = max_group_bytes
        self.groups = 0
        """Groups committed."""
        self.messages = 0
        """Messages those groups held."""
        self.failed = 0
        """Groups whose commit failed (nothing of them acknowledged)."""
        self._waiting: queue.Queue[mqtt.MQTTMessage | None] = queue.Queue(maxsize=max_group)
        # Named for the watchdog (`spine.service.WATCHED_PREFIXES`): if it dies, nothing is stored.
        self._thread = threading.Thread(target=self._run, name=f"commits-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then end the worker (call it once paho's loop has stopped)."""
        if self._thread.is_alive():
            self._waiting.put(None, timeout=timeout)
            self._thread.join(timeout)

    def on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        """paho's callback: queue the message (its PUBACK waits for the commit)."""
        self._waiting.put(message)

    def _run(self) -> None:
        while True:
            first = self._waiting.get()
            if first is None:
                return
            group = [first]
            size = len(first.payload)
            while len(group) < self.max_group and size < self.max_group_bytes:
                try:
                    more = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._waiting.put(None)  # stop once this group is committed
                    break
                group.append(more)
                size += len(more.payload)
            self._commit(group)

    def _commit(self, group: list[mqtt.MQTTMessage]) -> None:
        done: list[mqtt.MQTTMessage] = []
        try:
            with self.client.held() as publishes, self.database.group():
                for message in group:
                    try:
                        self.process(message)
                    except Exception:
                        log.exception("could not process a message on %s; it will come again", message.topic)
                        continue
                    done.append(message)
        except Exception:
            self.failed += 1
            log.exception("a commit of %d message(s) failed; they will come again", len(group))
            return
        for topic, payload, qos, retain in publishes:
            self.client.publish(topic, payload, qos, retain)
        for message in done:
            if message.qos > 0:
                self.client.ack(message.mid, message.qos)
        self.groups += 1
        self.messages += len(group)
