"""A test's own MQTT client on the suite's broker: what central publishes to a hall, and a hall's
gateway saying it is online."""

from __future__ import annotations

import json
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.support import wait_until


class HallLink:
    """Listens on `central/<hall>/cmd` as the hall's gateway would, and speaks on its status topic."""

    def __init__(self, port: int, hall: str) -> None:
        self.hall = hall
        self.commands: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{hall}-link")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_args: self._subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe(f"central/{hall}/cmd", qos=1)
        wait_until(self._subscribed.is_set, 10, "the test's subscription")

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.commands.append(json.loads(message.payload))

    def lists(self, day: str) -> list[list[dict[str, Any]]]:
        """Every `queue.appointments` of `day` received so far, oldest first."""
        with self._lock:
            return [c["appointments"] for c in self.commands
                    if c.get("command") == "queue.appointments" and c.get("day") == day]

    def online(self) -> None:
        self.client.publish(f"central/{self.hall}/status", json.dumps({"state": "online"}), qos=1,
                            retain=True).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
