"""A hall display as console lines: every call the gateway announces, as it would be shown and spoken.

Hears `hall/<hall>/calls` on the display's own device link, so the gateway sees
a display that is alive (heartbeats) like any other device, and a dead one is
reported. A real LED board or a text-to-speech box would take the same messages.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from contract.topics import hall_topic
from edge.hall_display.config import DisplayConfig
from edge.runtime.agent import EdgeAgent

log = logging.getLogger(__name__)


def call_line(call: dict[str, Any]) -> str:
    """'A007 -> window 3  请A007号到3号窗口办理 (recall 1)'."""
    again = f" (recall {call['recall']})" if call.get("recall") else ""
    return f"{call.get('ticket')} -> window {call.get('window')}  {call.get('text', '')}{again}"


class HallDisplay:
    """Shows each call of the display's hall through `show` (a console line by default)."""

    def __init__(self, config: DisplayConfig, *, show: Callable[[str], None] = print) -> None:
        self.config = config
        self.show = show
        self.calls_topic = hall_topic(config.device.hall, "calls")
        self.agent = EdgeAgent(config, subscriptions={self.calls_topic: self._on_call})

    def start(self) -> None:
        self.agent.start()

    def stop(self) -> None:
        self.agent.stop()

    def diagnostics(self) -> dict[str, Any]:
        return {"calls_topic": self.calls_topic, **self.agent.diagnostics()}

    def _on_call(self, message: mqtt.MQTTMessage) -> None:
        try:
            call = json.loads(message.payload)
        except ValueError:
            log.warning("ignoring a malformed call announcement")
            return
        if isinstance(call, dict):
            self.show(call_line(call))
