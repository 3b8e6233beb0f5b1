"""The per-device configuration message: retained on `hall/<hall>/dev/<device>/config`, versioned.

Hall and window binding and hardware settings are server-side data: the
gateway publishes them retained, the device applies a version newer than the
one it runs, remembers it, and reports back with `device.config_applied`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from pydantic import ValidationError

from contract.commands.registry import DeviceConfig
from contract.registry import describe_error
from spine.files import write_file_atomic

log = logging.getLogger(__name__)


class ConfigApplier:
    """The device's side: apply newer configurations once, persist the version, report back.

    `apply` does the domain's work (rebind a window, reopen a printer) and
    returns None when done or a plain reason why it could not. `report`
    records `device.config_applied` (normally `EdgeAgent.record`).
    """

    def __init__(
        self,
        device: str,
        hall: str,
        state_path: Path,
        apply: Callable[[DeviceConfig], str | None],
        report: Callable[[str, dict[str, Any]], object],
    ) -> None:
        self.device = device
        self.hall = hall
        self.state_path = Path(state_path)
        self._apply = apply
        self._report = report
        self.current: DeviceConfig | None = self._load()

    def _load(self) -> DeviceConfig | None:
        try:
            return DeviceConfig.model_validate_json(self.state_path.read_text())
        except (FileNotFoundError, ValidationError, ValueError):
            return None

    @property
    def applied_version(self) -> int:
        return self.current.version if self.current else 0

    def on_message(self, message: mqtt.MQTTMessage) -> None:
        """Handler for `EdgeAgent.on_config`."""
        self.handle(bytes(message.payload))

    def handle(self, payload: bytes) -> bool:
        """True when a new configuration was applied."""
        if not payload:
            log.warning("configuration of %s was cleared: the device is retired", self.device)
            return False
        try:
            config = DeviceConfig.model_validate_json(payload)
        except ValidationError as exc:
            log.error("ignoring an unreadable configuration: %s", describe_error(exc))
            return False
        except ValueError:
            log.error("ignoring a configuration that is not JSON")
            return False
        if config.version <= self.applied_version:
            return False  # the retained copy we already run, redelivered on reconnect
        if (config.device, config.hall) != (self.device, self.hall):
            self._report("device.config_applied", {
                "version": config.version, "applied": False,
                "reason": f"configuration is for {config.device} in {config.hall}, not this device",
            })
            return False
        reason = self._apply(config)
        if reason is not None:
            log.error("configuration %d not applied: %s", config.version, reason)
            self._report("device.config_applied", {"version": config.version, "applied": False,
                                                   "reason": reason})
            return False
        write_file_atomic(self.state_path, json.dumps(config.model_dump()).encode())
        self.current = config
        log.info("configuration %d applied (window %s)", config.version, config.window)
        self._report("device.config_applied", {"version": config.version, "applied": True})
        return True
