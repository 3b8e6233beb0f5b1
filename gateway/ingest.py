"""The gateway on its hall broker: devices' batches in, acknowledged only after commit; their
status and heartbeats to presence; live messages (replies, calls, boards, configurations) out."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from contract.topics import Channel, device_topic, hall_devices_filter, parse_device_topic
from gateway.hall_presence import PresenceReports
from spine.config import BrokerSettings
from spine.database import Database
from spine.mqtt import (
    CommitGroups,
    ReceiverClient,
    acknowledge_after,
    connect_persistent,
    make_client,
    reason_text,
)
from spine.receiver import BatchReceiver

log = logging.getLogger(__name__)

Refusal = Callable[[str], str | None]
"""device -> None when it may speak in this hall, else why not."""


def hall_client(gateway_id: str, broker: BrokerSettings) -> mqtt.Client:
    """The gateway's login on its hall broker. Manual acks: the broker's copy of a message is
    released only after our commit, so a gateway killed mid-batch gets it again on restart."""
    return make_client(f"{gateway_id}-ingest", broker, manual_ack=True)


class LiveMessages:
    """Messages to the hall's devices and displays that need no store: sent now, or not at all."""

    def __init__(self, client: mqtt.Client) -> None:
        self._client = client

    def publish(self, topic: str, payload: str, retain: bool = False) -> None:
        """A command, reply, call or configuration, at QoS 1."""
        self._client.publish(topic, payload, qos=1, retain=retain)

    def publish_latest(self, topic: str, payload: str, retain: bool) -> None:
        """A view where only the latest matters (the queue board): the retained copy at QoS 1,
        kiosks' copies at QoS 0, so a kiosk away for hours finds no backlog of stale boards."""
        self._client.publish(topic, payload, qos=1 if retain else 0, retain=retain)


class HallIngest:
    """Wires the hall broker client to the receiver and to presence."""

    def __init__(self, client: mqtt.Client, hall: str, receiver: BatchReceiver, presence: PresenceReports,
                 refusal: Refusal, stopping: threading.Event, database: Database | None = None) -> None:
        """With the `database` the store commits in, every batch waiting is committed at once
        (`spine.mqtt.CommitGroups`): one fsync for the hall, not one per device batch."""
        self.client = client
        self.hall = hall
        self.receiver = receiver
        self.presence = presence
        self.refusal = refusal
        self.stopping = stopping
        self.commits = (CommitGroups(client, database, self.handle, name=f"ingest-{hall}")
                        if database is not None and isinstance(client, ReceiverClient) else None)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self.commits.on_message if self.commits is not None else self._on_message

    def start(self, broker: BrokerSettings, session_expiry_s: int) -> None:
        if self.commits is not None:
            self.commits.start()
        connect_persistent(self.client, broker, session_expiry_s)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        if self.commits is not None:
            self.commits.stop()

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("hall broker refused the gateway: %s", reason_text(reason))
            return
        client.subscribe(
            [
                (hall_devices_filter(self.hall, Channel.EVENTS), 1),
                (hall_devices_filter(self.hall, Channel.STATUS), 1),
                (hall_devices_filter(self.hall, Channel.HEARTBEAT), 0),
            ]
        )
        log.info("gateway connected to the hall broker (session %s)",
                 "resumed" if flags.session_present else "new")

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not self.stopping.is_set():
            log.warning("gateway lost the hall broker (%s); reconnecting", reason_text(reason))

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        acknowledge_after(client, message, self.handle)

    def handle(self, message: mqtt.MQTTMessage) -> None:
        """One message of the hall's devices; it raises when it could not be committed."""
        parsed = parse_device_topic(message.topic)
        if parsed is None:
            return
        _hall, device, channel = parsed
        if channel == Channel.EVENTS:
            ack = self.receiver.receive(message.topic, device, message.payload)
            if ack is not None:
                ack_topic = device_topic(self.hall, device, Channel.ACK)
                self.client.publish(ack_topic, ack.model_dump_json(), qos=1)
            if self.refusal(device) is None:
                self.presence.traffic(device)
        elif channel in (Channel.STATUS, Channel.HEARTBEAT):
            if self.refusal(device) is not None or not message.payload:
                return
            try:
                data = json.loads(message.payload)
            except ValueError:
                log.warning("ignoring a malformed %s from %s", channel, device)
                return
            if not isinstance(data, dict):
                return
            if channel == Channel.STATUS:
                self.presence.status(device, data)
            else:
                self.presence.heartbeat(device, data)
