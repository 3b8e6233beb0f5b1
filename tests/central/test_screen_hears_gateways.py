"""A hall's gateway going offline (its retained status, or its last will) redraws the big screen at
once: the event stream says so, instead of leaving the hall green until the page's next refresh."""

from __future__ import annotations

import json

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from central.service import CentralService
from spine.broker.runner import MosquittoBroker
from tests.support import wait_until


def test_a_gateway_going_offline_is_told_to_the_screens(
        central: CentralService, broker: MosquittoBroker, viewer: httpx.Client) -> None:
    before = central.feed.version
    gateway = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gw-hall-01-test")
    gateway.connect("127.0.0.1", broker.port)
    gateway.loop_start()
    try:
        gateway.publish("central/hall-01/status", json.dumps({"state": "offline", "reason": "power cut"}),
                        qos=1, retain=True).wait_for_publish(10)
        wait_until(lambda: central.feed.version > before, 15, "the screens to be told")
        hall = viewer.get("/api/halls/hall-01").json()
        assert hall["gateway_online"] is False and hall["gateway_reason"] == "power cut"
        heard_from = ("this process" if central.store.url.is_sqlite
                      else "every central process (NOTIFY hallwatch_screen)")
        assert central.diagnostics()["screen_feed"]["heard_from"] == heard_from
    finally:
        gateway.loop_stop()
        gateway.disconnect()
