"""Central's receiving end: the gateways' store-and-forward stream, acknowledged after commit.

Each gateway is trusted for its own hall only, and only for what the authority
table lets it state or forward (`central.authority.HallTrust`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from central.authority import HallTrust
from central.config import CentralConfig
from central.store import CentralStore
from contract.authority import CaseScope
from contract.topics import gateway_link, parse_central_topic
from spine.clock import Clock
from spine.mqtt import acknowledge_after, connect_persistent, make_client, reason_text
from spine.receiver import BatchReceiver

log = logging.getLogger(__name__)


HeartbeatListener = Callable[[str, dict[str, Any]], None]
"""(hall, the gateway's heartbeat) -> None: e.g. the hall's watermark (`central.hall_watermarks`)."""
StatusListener = Callable[[str, bool], None]
"""(hall, online) -> None, at each status its gateway publishes (retained: also when central
connects): e.g. the hall's booking lists, sent again (`central.booking.lists`)."""


class CentralIngest:
    def __init__(self, config: CentralConfig, store: CentralStore, clock: Clock,
                 case_scope: CaseScope | None = None,
                 on_heartbeat: HeartbeatListener | None = None) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.on_heartbeat = on_heartbeat
        self.on_status: StatusListener | None = None
        gateways = {entry.hall: entry.gateway for entry in config.ingest.halls}
        if not gateways:
            log.warning("no halls configured: central accepts any gateway (demo only)")
        self.trust = HallTrust(gateways, case_scope)
        store.admit = self.trust.admit
        self.receiver = BatchReceiver(
            store, clock, authorize=self.trust.authorize, check_event=self.trust.check
        )
        self.client = make_client(f"{config.id}-ingest", config.broker, manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self._stopping = False

    def start(self) -> None:
        connect_persistent(self.client, self.config.broker, self.config.ingest.session_expiry_s)
        self.client.loop_start()

    def stop(self) -> None:
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()

    def send_command(self, hall: str, command: dict[str, Any]) -> None:
        """Publish on `central/<hall>/cmd`; the hall's gateway runs it or relays it to its device."""
        topic = gateway_link(hall).commands
        self.client.publish(topic, json.dumps(command, ensure_ascii=False), qos=1)
        log.info("sent %r to hall %s (%s)", command.get("command"), hall, command.get("device", "gateway"))

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("central broker refused central: %s", reason_text(reason))
            return
        client.subscribe([("central/+/events", 1), ("central/+/status", 1), ("central/+/heartbeat", 0)])
        log.info("central connected to its broker (session %s)",
                 "resumed" if flags.session_present else "new")

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if self._stopping:
            return
        log.warning("central lost its broker (%s); reconnecting", reason_text(reason))

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        acknowledge_after(client, message, lambda m: self._handle(client, m))

    def _handle(self, client: mqtt.Client, message: mqtt.MQTTMessage) -> None:
        parsed = parse_central_topic(message.topic)
        if parsed is None:
            return
        hall, channel = parsed
        if channel == "events":
            ack = self.receiver.receive(message.topic, hall, message.payload)
            if ack is not None:
                client.publish(f"central/{hall}/ack", ack.model_dump_json(), qos=1)
        elif channel in ("status", "heartbeat") and message.payload:
            try:
                data = json.loads(message.payload)
            except ValueError:
                return
            if isinstance(data, dict):
                online = data.get("state") == "online"
                heartbeat = message.payload.decode() if channel == "heartbeat" else None
                self.store.set_hall_status(hall, online, data.get("reason"), heartbeat)
                if channel == "heartbeat" and self.on_heartbeat is not None:
                    self.on_heartbeat(hall, data)
                if channel == "status" and self.on_status is not None:
                    self.on_status(hall, online)
