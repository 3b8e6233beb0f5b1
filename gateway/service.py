"""The running hall gateway: ingest from the hall broker, presence, and the forwarder to central."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from contract.envelope import Batch, Envelope
from contract.topics import (
    Channel,
    device_topic,
    gateway_link,
    hall_devices_filter,
    parse_device_topic,
)
from gateway.config import GatewayConfig
from gateway.presence import ClockReference, PresenceTracker
from gateway.queue.handler import queue_commands, queue_handler
from gateway.ratings.handler import rating_handler
from gateway.registry import DeviceRegistry, attach_provisioning
from gateway.store import GatewayHandler, GatewayStore
from spine.clock import Clock, SystemClock
from spine.mqtt import acknowledge_after, connect_persistent, make_client, reason_text
from spine.outbox import Outbox
from spine.receiver import BatchReceiver
from spine.uplink import Uplink

log = logging.getLogger(__name__)

CLOCK_REFERENCE_DRIFT_MS = 1000
"""Re-save a device's clock reference when it moves by more than this (NTP slews, latency)."""

CommandHandler = Callable[[dict[str, Any]], None]


def build_handlers(config: GatewayConfig, service: GatewayService) -> list[GatewayHandler]:
    """The hall's domain logic, fed by every newly stored event (one line per domain)."""
    handlers: list[GatewayHandler] = []
    handlers.append(queue_handler(config.queue, service))
    handlers.append(rating_handler(config.ratings, service))  # after the queue: reads its facts
    return handlers


def build_commands(config: GatewayConfig, service: GatewayService) -> dict[str, CommandHandler]:
    """Commands from central that the gateway itself carries out, by name."""
    commands: dict[str, CommandHandler] = {}
    commands.update(queue_commands(config.queue, service))
    commands.update(attach_provisioning(service))  # registry.sync; self-test -> active
    return commands


class GatewayService:
    def __init__(
        self,
        config: GatewayConfig,
        *,
        clock: Clock | None = None,
        handlers: list[GatewayHandler] | None = None,
    ) -> None:
        self.config = config
        self.hall = config.gateway.hall
        self.id = config.gateway.id
        self.clock = clock or SystemClock()
        self.outbox = Outbox(config.store_path, config.outbox, page_size=None)
        self.store = GatewayStore(
            self.outbox, self.id, self.clock,
            handlers if handlers is not None else build_handlers(config, self),
            publish=self.publish,
        )
        self.commands: dict[str, CommandHandler] = build_commands(config, self)
        self.registry = DeviceRegistry(self.outbox, config.devices)
        self.presence = PresenceTracker(config.devices.silence_s, config.devices.skew_threshold_ms)
        self._restore_clock_references()
        self._presence_lock = threading.Lock()
        self.receiver = BatchReceiver(
            self.store,
            self.clock,
            authorize=self._authorize,
            check_event=self._check_event,
            stamp_by=self.id,
            clock_reference=self._clock_reference,
        )
        self.forwarder = Uplink(
            sender_id=self.id,
            client_id=f"{self.id}-forward",
            outbox=self.outbox,
            topics=gateway_link(self.hall),
            broker=config.central_broker,
            settings=config.uplink,
            clock=self.clock,
            heartbeat_extra=self._heartbeat_extra,
        )
        self.forwarder.on_commands(self._on_central_command)
        # Manual acks: the broker's copy of a message is released only after our commit,
        # so a gateway killed mid-batch gets it again on restart.
        self.client = make_client(f"{self.id}-ingest", config.hall_broker, manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    # --- life cycle ------------------------------------------------------

    def start(self) -> None:
        self.forwarder.start()
        connect_persistent(self.client, self.config.hall_broker, self.config.uplink.session_expiry_s)
        self.client.loop_start()
        self._sweeper = threading.Thread(target=self._sweep, name="presence", daemon=True)
        self._sweeper.start()
        log.info("gateway %s serving hall %s", self.id, self.hall)

    @property
    def stopping(self) -> threading.Event:
        """Set when the gateway stops: timers of domain handlers end on it."""
        return self._stop

    def stop(self) -> None:
        self._stop.set()
        self.client.disconnect()
        self.client.loop_stop()
        if self._sweeper is not None:
            self._sweeper.join(timeout=5)  # it writes presence events: let it finish first
        self.forwarder.stop()
        self.outbox.close()

    # --- MQTT ------------------------------------------------------------

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
        if not self._stop.is_set():
            log.warning("gateway lost the hall broker (%s); reconnecting", reason_text(reason))

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        acknowledge_after(client, message, lambda m: self._handle(client, m))

    def _handle(self, client: mqtt.Client, message: mqtt.MQTTMessage) -> None:
        parsed = parse_device_topic(message.topic)
        if parsed is None:
            return
        _hall, device, channel = parsed
        now = self.clock.wall_ms()
        if channel == Channel.EVENTS:
            ack = self.receiver.receive(message.topic, device, message.payload)
            if ack is not None:
                client.publish(
                    device_topic(self.hall, device, Channel.ACK), ack.model_dump_json(), qos=1
                )
            if self.registry.refusal(device) is None:
                self._record_presence(self.presence.on_traffic, device, now)
        elif channel in (Channel.STATUS, Channel.HEARTBEAT):
            if self.registry.refusal(device) is not None or not message.payload:
                return
            try:
                data = json.loads(message.payload)
            except ValueError:
                log.warning("ignoring a malformed %s from %s", channel, device)
                return
            if not isinstance(data, dict):
                return
            track = self.presence.on_status if channel == Channel.STATUS else self.presence.on_heartbeat
            self._record_presence(track, device, now, data)

    def _record_presence(self, track: Any, device: str, now: int, *data: Any) -> None:
        with self._presence_lock:
            before = self.presence.clock_reference(device)
            emitted = track(device, *data, now) if data else track(device, now)
            after = self.presence.clock_reference(device)
        if after is not None and (
            before is None or before.boot != after.boot
            or abs(before.mono_offset_ms - after.mono_offset_ms) > CLOCK_REFERENCE_DRIFT_MS
        ):
            self._save_clock_reference(device, after)
        for type, body in emitted:
            self.store.record_own(type, body)
            log.info("device %s: %s %s", device, type.removeprefix("device."),
                     body.get("reason") or body.get("state") or "")

    def _sweep(self) -> None:
        while not self._stop.wait(1.0):
            with self._presence_lock:
                emitted = self.presence.sweep(self.clock.wall_ms())
            for type, body in emitted:
                self.store.record_own(type, body)
                log.warning("device %s went silent: marked offline", body["device"])

    def publish(self, topic: str, payload: str, retain: bool = False) -> None:
        """A live message on the hall broker (device commands, replies, hall displays)."""
        self.client.publish(topic, payload, qos=1, retain=retain)

    def _on_central_command(self, message: mqtt.MQTTMessage) -> None:
        """Commands from central: run here, or relayed to one device of the hall."""
        try:
            command = json.loads(message.payload)
        except ValueError:
            log.warning("ignoring a malformed command from central")
            return
        if not isinstance(command, dict):
            return
        name = command.get("command")
        handler = self.commands.get(str(name))
        if handler is not None:
            handler(command)
        elif isinstance(command.get("device"), str):
            device = command["device"]
            if self.registry.refusal(device) is not None:
                log.warning("central sent %r to unknown device %s: dropped", name, device)
                return
            # `device` routes the command here; the device's own schema does not know it.
            relayed = {key: value for key, value in command.items() if key != "device"}
            payload = json.dumps(relayed, ensure_ascii=False)
            self.publish(device_topic(self.hall, device, Channel.CMD), payload)
            log.info("relayed %r from central to %s", name, device)
        else:
            log.warning("central sent an unknown command %r", name)

    # --- receiver policy -------------------------------------------------

    def _authorize(self, topic_device: str, batch: Batch) -> str | None:
        if batch.sender != topic_device:
            return f"batch sender {batch.sender!r} does not match its topic's device {topic_device!r}"
        return self.registry.refusal(topic_device)

    def _check_event(self, batch: Batch, envelope: Envelope) -> str | None:
        if envelope.device != batch.sender:
            return f"event of device {envelope.device!r} sent by {batch.sender!r}"
        # A provisioned device counts only once its self-test passed: no half-made device
        # can look fine (its refused events are kept as dead letters, not lost).
        return self.registry.event_refusal(envelope.device, envelope.type)

    def _save_clock_reference(self, device: str, reference: ClockReference) -> None:
        # Saved so that, after a gateway restart, batches the broker held for us are still
        # dated by the device's monotonic clock rather than by the moment they arrive.
        with self.outbox.transaction() as tx:
            tx.execute(
                "INSERT INTO clock_references (device, boot, mono_offset_ms, skew_ms) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (device) DO UPDATE SET boot = excluded.boot, "
                "mono_offset_ms = excluded.mono_offset_ms, skew_ms = excluded.skew_ms",
                (device, reference.boot, reference.mono_offset_ms, reference.skew_ms),
            )

    def _restore_clock_references(self) -> None:
        self.outbox.ensure_schema(
            "CREATE TABLE IF NOT EXISTS clock_references (device TEXT PRIMARY KEY, boot TEXT NOT NULL, "
            "mono_offset_ms INTEGER NOT NULL, skew_ms INTEGER NOT NULL);"
        )
        for device, boot, offset, skew in self.outbox.query("SELECT * FROM clock_references"):
            self.presence.restore(device, ClockReference(boot, offset, skew))

    def _clock_reference(self, device: str) -> Any:
        with self._presence_lock:
            return self.presence.clock_reference(device)

    def _heartbeat_extra(self) -> dict[str, Any]:
        with self._presence_lock:
            devices = self.presence.snapshot()
        return {"kind": "gateway", "hall": self.hall, "devices": devices,
                "ingest": dict(self.receiver.counters)}

    def diagnostics(self) -> dict[str, Any]:
        waiting, waiting_bytes = self.outbox.depth()
        return {
            "gateway": self.id,
            "hall": self.hall,
            "ingest": dict(self.receiver.counters),
            "forward_outbox": {"events_waiting": waiting, "bytes_waiting": waiting_bytes},
            "forwarder_connected": self.forwarder.stats.connected,
            "devices": self._heartbeat_extra()["devices"],
        }
