"""Commands from central on the gateway's link: carried out by the gateway, or relayed to one device.

A command with a `device` routing key (`contract.commands.relay`) is for that
device of the hall: relayed to its command topic without the key, if the
registry lets the device speak here. Any other command must be one the
gateway carries out itself, parsed by the contract into its typed model.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from pydantic import ValidationError

from contract.catalog import parse_command
from contract.commands.relay import route_of
from contract.registry import CommandBody, UnknownCommand, describe_error
from contract.topics import Channel, device_topic

log = logging.getLogger(__name__)

C = TypeVar("C", bound=CommandBody)
Publish = Callable[[str, str], None]
Refusal = Callable[[str], str | None]


class CentralCommands:
    """What arrives on `central/<hall>/cmd`, dispatched by its typed model."""

    def __init__(self, hall: str, publish: Publish, refusal: Refusal) -> None:
        self.hall = hall
        self.publish = publish
        self.refusal = refusal
        self._carried_out: dict[type[CommandBody], Callable[[Any], None]] = {}

    def carry_out(self, model: type[C], handler: Callable[[C], None]) -> CentralCommands:
        """The gateway carries out commands of `model` with `handler`."""
        self._carried_out[model] = handler
        return self

    def on_message(self, message: mqtt.MQTTMessage) -> None:
        try:
            raw = json.loads(message.payload)
        except ValueError:
            log.warning("ignoring a malformed command from central")
            return
        if not isinstance(raw, dict):
            log.warning("ignoring a command from central that is not a JSON object")
            return
        self.receive(raw)

    def receive(self, raw: dict[str, Any]) -> None:
        """One decoded command from central."""
        device, command = route_of(raw)
        name = command.get("command")
        if device is not None:
            self._relay(device, str(name), command)
            return
        try:
            typed = parse_command(command)
        except UnknownCommand:
            log.warning("central sent an unknown command %r", name)
            return
        except ValidationError as exc:
            log.error("refused a malformed %s from central: %s", name, describe_error(exc))
            return
        handler = self._carried_out.get(type(typed))
        if handler is None:
            log.warning("central sent %r without naming a device; only a device carries it out", name)
            return
        handler(typed)

    def _relay(self, device: str, name: str, command: dict[str, Any]) -> None:
        if self.refusal(device) is not None:
            log.warning("central sent %r to unknown device %s: dropped", name, device)
            return
        self.publish(device_topic(self.hall, device, Channel.CMD), json.dumps(command, ensure_ascii=False))
        log.info("relayed %r from central to %s", name, device)
