"""The skeleton every edge agent stands on: identity, outbox, recorder, uplink, drop reports."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

import paho.mqtt.client as mqtt
from pydantic import BaseModel, Field, ValidationError, field_validator

from contract.registry import CommandBody, describe_error
from contract.topics import Channel, check_identifier, device_link, device_topic
from spine.clock import Clock, SystemClock
from spine.config import BrokerSettings, OutboxSettings, Section, UplinkSettings
from spine.outbox import Outbox, OutboxFull
from spine.recorder import EventRecorder, RecordedEvent
from spine.service import Periodic
from spine.uplink import Uplink

log = logging.getLogger(__name__)
CommandT = TypeVar("CommandT", bound=CommandBody)

WATCH_S = 1.0
"""How often an agent looks at its disk and its unreported drops."""


class DeviceIdentity(Section):
    """Who this device is. Written by provisioning; never derived from a MAC address."""

    id: str = Field(description="stable device id, also its MQTT username and client id")
    hall: str = Field(description="the hall whose gateway this device talks to")
    kind: str = Field(description="kiosk, rating, recorder or sim")
    window: str | None = Field(None, description="the window this device serves, if any")

    @field_validator("id", "hall")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return check_identifier(value, "id")


def trial_sections(device: str, kind: str, window: str | None = None) -> dict[str, Any]:
    """`[device]`, `[outbox]` and `data_dir` of an agent in a one-machine trial (no `--config`):
    hall-01 on the loopback broker, its files under `var/<device>/`, as several agents started
    from one directory must not share an outbox."""
    identity: dict[str, Any] = {"id": device, "hall": "hall-01", "kind": kind}
    if window is not None:
        identity["window"] = window
    return {"device": identity, "outbox": {"path": f"var/{device}/outbox.sqlite"},
            "data_dir": f"var/{device}"}


class AgentConfig(Section):
    """The sections every edge agent's configuration has."""

    trial_defaults = trial_sections("sim-01", "sim")

    device: DeviceIdentity
    broker: BrokerSettings = BrokerSettings()
    outbox: OutboxSettings = OutboxSettings()
    uplink: UplinkSettings = UplinkSettings()
    data_dir: Path = Field(Path("var"), description="where the agent keeps its state")


class EdgeAgent:
    """An agent's store-and-forward half. Domain code calls `record()`; the rest is automatic."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        clock: Clock | None = None,
        heartbeat_extra: Callable[[], dict[str, Any]] | None = None,
        subscriptions: Mapping[str, Callable[[mqtt.MQTTMessage], None]] | None = None,
    ) -> None:
        """`subscriptions`: further topics (hall announcements) heard on the agent's one connection;
        a second connection would share the device's client id and the broker would drop one."""
        self.config = config
        self.identity = config.device
        self.clock = clock or SystemClock()
        self.outbox = Outbox(config.outbox.path, config.outbox)
        self.recorder = EventRecorder(self.outbox, self.identity.id, self.clock)
        self._command_handlers: list[Callable[[mqtt.MQTTMessage], None]] = []
        self._named_commands: dict[str, tuple[type[CommandBody], Callable[[CommandBody], None]]] = {}
        self._config_handlers: list[Callable[[mqtt.MQTTMessage], None]] = []
        self.uplink = Uplink(
            sender_id=self.identity.id,
            client_id=self.identity.id,
            outbox=self.outbox,
            topics=device_link(self.identity.hall, self.identity.id),
            broker=config.broker,
            settings=config.uplink,
            clock=self.clock,
            heartbeat_extra=self._heartbeat_extra,
            status_extra=self._status_extra,
            subscriptions={self.config_topic: self._dispatch_config, **(subscriptions or {})},
        )
        self.uplink.on_commands(self._dispatch_command)
        self._extra = heartbeat_extra
        self._stop = threading.Event()
        self._storage_full = False
        self._next_report = 0.0
        # A round that fails is logged and the next one retries: no disk, however full, ends it.
        self._watch = Periodic("outbox-watch", WATCH_S, self.watch_outbox, self._stop)

    @property
    def config_topic(self) -> str:
        return device_topic(self.identity.hall, self.identity.id, Channel.CONFIG)

    def record(self, type: str, body: Mapping[str, Any] | BaseModel) -> RecordedEvent:
        """Commit an event durably; it reaches central eventually, exactly once."""
        return self.recorder.record(type, body)

    def on_command(self, handler: Callable[[mqtt.MQTTMessage], None]) -> None:
        self._command_handlers.append(handler)

    def handle_command(self, model: type[CommandT], handler: Callable[[CommandT], None]) -> None:
        """Hand each command of type `model` (from `contract.commands`) to `handler`, decoded and
        validated once for every role; a malformed one is logged and dropped."""
        if not self._named_commands:
            self.on_command(self._dispatch_named_command)
        name = model.model_fields["command"].default
        self._named_commands[name] = (model, cast(Callable[[CommandBody], None], handler))

    def on_config(self, handler: Callable[[mqtt.MQTTMessage], None]) -> None:
        self._config_handlers.append(handler)

    def publish(self, topic: str, payload: str, *, qos: int = 1, retain: bool = False) -> None:
        """Publish a live (not stored) message, e.g. a command reply or a display update."""
        self.uplink.client.publish(topic, payload, qos=qos, retain=retain)

    def _dispatch_command(self, message: mqtt.MQTTMessage) -> None:
        for handler in self._command_handlers:
            handler(message)

    def _dispatch_named_command(self, message: mqtt.MQTTMessage) -> None:
        try:
            command = json.loads(message.payload)
        except ValueError:
            log.warning("%s: ignoring a malformed command", self.identity.id)
            return
        if not isinstance(command, dict):
            return
        named = self._named_commands.get(str(command.get("command")))
        if named is None:
            return
        model, handler = named
        try:
            typed = model.model_validate(command)
        except ValidationError as exc:
            log.warning("%s: ignoring a malformed %s command: %s", self.identity.id, model.__name__,
                        describe_error(exc))
            return
        handler(typed)

    def _dispatch_config(self, message: mqtt.MQTTMessage) -> None:
        for handler in self._config_handlers:
            handler(message)

    def _heartbeat_extra(self) -> dict[str, Any]:
        extra = {"kind": self.identity.kind}
        if self._extra is not None:
            extra.update(self._extra())
        return extra

    def _status_extra(self) -> dict[str, Any]:
        """In the retained status and every heartbeat: whether the agent's disk is full."""
        return {"storage": self.outbox.storage().as_dict()}

    def start(self) -> None:
        self.uplink.start()
        self._watch.start()

    def stop(self) -> None:
        self._stop.set()
        self._watch.join(timeout=5)
        self.uplink.stop()
        self.outbox.close()

    def watch_outbox(self) -> None:
        """Look at the disk: say it on the status when it fills up or frees up, and turn counted
        drops into an essential `device.dropped` (at once when space is back, else every
        `min(heartbeat_s, 10)` s): never a silent loss, and no thread that a full disk can end."""
        storage = self.outbox.check_disk()
        if storage.full != self._storage_full:
            self._storage_full = storage.full
            self.uplink.announce()
            self._next_report = 0.0
        if storage.full or time.monotonic() < self._next_report:
            return
        self._next_report = time.monotonic() + min(self.config.uplink.heartbeat_s, 10.0)
        try:
            self.report_drops_now()
        except OutboxFull as exc:
            log.warning("%s: dropped events not reported yet (%s); retrying", self.identity.id, exc)

    def report_drops_now(self) -> int:
        """Report every drop not reported yet; returns how many."""
        total = self.recorder.report_drops()
        if total:
            log.warning("reported %d dropped event(s) upstream", total)
        return total

    def diagnostics(self) -> dict[str, Any]:
        """A redacted snapshot of this agent's state, for `hall ... diagnostics`."""
        waiting, waiting_bytes = self.outbox.depth()
        stats = self.uplink.stats
        return {
            "device": self.identity.model_dump(),
            "broker": {
                "host": self.config.broker.host,
                "port": self.config.broker.port,
                "tls": self.config.broker.tls_ca is not None,
                "username": self.config.broker.username,
                "password": "***" if self.config.broker.resolved_password() else None,
            },
            "outbox": {
                "path": str(self.outbox.path),
                "events_waiting": waiting,
                "bytes_waiting": waiting_bytes,
                "last_seq": self.outbox.last_pos,
                "dropped": self.outbox.drop_totals(),
                "unreported": self.outbox.unreported_drops(),
                "storage": self.outbox.storage().as_dict(),
            },
            "uplink": {
                "connected": stats.connected,
                "connects": stats.connects,
                "events_sent": stats.events_sent,
                "events_acked": stats.events_acked,
                "resends": stats.resends,
                "probes": stats.probes,
            },
        }
