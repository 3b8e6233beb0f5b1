"""A hall display as console lines: every call the gateway announces, as it would be shown and spoken.

Subscribes to `hall/<hall>/calls` (and the retained board, for who is at which
window). A real LED board or a text-to-speech box would take the same messages.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from contract.topics import hall_topic
from spine.config import BrokerSettings
from spine.mqtt import make_client

log = logging.getLogger(__name__)


def call_line(call: dict[str, Any]) -> str:
    """'A007 -> window 3  请A007号到3号窗口办理 (recall 1)'."""
    again = f" (recall {call['recall']})" if call.get("recall") else ""
    return f"{call.get('ticket')} -> window {call.get('window')}  {call.get('text', '')}{again}"


class CallDisplay:
    def __init__(self, broker: BrokerSettings, hall: str, client_id: str,
                 show: Callable[[str], None] = print) -> None:
        self.hall = hall
        self.show = show
        self.client = make_client(client_id, broker)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.broker = broker

    def start(self) -> None:
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=self.broker.keepalive_s)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            client.subscribe(hall_topic(self.hall, "calls"), qos=1)

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        try:
            call = json.loads(message.payload)
        except ValueError:
            return
        if isinstance(call, dict):
            self.show(call_line(call))
