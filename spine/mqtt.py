"""paho-mqtt 2.x clients configured one way for every hop: MQTT 5, persistent sessions, TLS."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from spine.config import BrokerSettings

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
    """A client with a pinned id (its session survives reconnects), credentials and TLS set."""
    client = mqtt.Client(
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


