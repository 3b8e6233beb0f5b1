"""Holds placed by command: central -> gateway -> MQTT -> recorder, answered on the reply topic."""

from __future__ import annotations

import json
import queue
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.camera_recorder.agent import RecorderAgent
from edge.camera_recorder.commands import command_schema, handle_payload
from edge.camera_recorder.service import Recorder
from spine.broker.runner import MosquittoBroker
from spine.clock import SimulatedClock

from .conftest import DEADLINE_S, EventLog, recorder_config

NOW = 1_800_000_000_000
COMMANDS = "hall/hall-1/dev/rec-1/cmd"
REPLY = "hall/hall-1/dev/rec-1/reply"
STATUS = "hall/hall-1/dev/rec-1/status"  # retained: online / offline


def hold_command(command_id: str = "c-17", **hold: object) -> bytes:
    body = {
        "camera": "cam-1",
        "from": "2027-01-15T09:30:00+08:00",
        "to": "2027-01-15T09:45:00+08:00",
        "until": "+180d",
        "who": "Complaint desk, Officer Wang",
        "why": "complaint 2027-0042 about ticket A017 at window 3",
    }
    body.update(hold)
    return json.dumps({"v": 1, "id": command_id, "command": "recorder.hold", "hold": body}).encode()


@pytest.fixture
def recorder(tmp_path: Path, make_recorder: Callable[..., Recorder]) -> Recorder:
    config = recorder_config(
        tmp_path,
        [{"id": "cam-1", "url": "tcp://127.0.0.1:9", "windows": ["w03"]},
         {"id": "cam-2", "url": "tcp://127.0.0.1:9", "windows": ["w03", "w04"]}],
    )
    return make_recorder(config, record=False, background=False, clock=SimulatedClock(NOW))


def test_a_hold_command_places_a_hold_and_says_what_it_holds(
    recorder: Recorder, events: EventLog
) -> None:
    reply = handle_payload(recorder, hold_command())
    assert reply is not None and reply["ok"], reply
    assert (reply["id"], reply["device"], reply["command"]) == ("c-17", "rec-1", "recorder.hold")
    (placed,) = reply["result"]
    assert placed["hold_id"] == "c-17" and placed["new"] is True
    assert placed["from"] == "2027-01-15T01:30:00.000+00:00"
    hold = recorder.index.holds.get("c-17")
    assert hold is not None and hold.source == "mqtt" and hold.who.startswith("Complaint desk")
    assert events.of("recorder.hold")[0]["state"] == "active"


def test_a_command_delivered_twice_holds_once(recorder: Recorder) -> None:
    first = handle_payload(recorder, hold_command())
    second = handle_payload(recorder, hold_command())
    assert first["result"][0]["new"] is True and second["result"][0]["new"] is False
    assert len(recorder.index.holds.all()) == 1


def test_a_hold_by_window_covers_every_camera_of_the_window(recorder: Recorder) -> None:
    reply = handle_payload(recorder, hold_command("c-18", camera=None, window="w03"))
    assert reply["ok"]
    assert sorted(r["camera"] for r in reply["result"]) == ["cam-1", "cam-2"]


def test_a_bad_command_is_refused_with_the_reason(recorder: Recorder) -> None:
    no_reason = handle_payload(recorder, hold_command(why=" "))
    assert no_reason["ok"] is False and "why" in no_reason["error"]
    backwards = handle_payload(recorder, hold_command(**{"from": "2027-01-15T10:00:00+08:00"}))
    assert backwards["ok"] is False and "ends before it starts" in backwards["error"]
    unknown = handle_payload(recorder, hold_command(camera="cam-9"))
    assert unknown["ok"] is False and "cam-9" in unknown["error"]
    assert recorder.index.holds.all() == []


def test_commands_of_other_domains_are_left_alone(recorder: Recorder) -> None:
    assert handle_payload(recorder, b'{"v":1,"id":"k1","command":"kiosk.reprint"}') is None
    assert handle_payload(recorder, b"not json") is None


def test_release_and_list_by_command(recorder: Recorder) -> None:
    handle_payload(recorder, hold_command())
    listed = handle_payload(recorder, b'{"v":1,"id":"c-19","command":"recorder.holds"}')
    assert [h["hold_id"] for h in listed["result"]] == ["c-17"]
    released = handle_payload(recorder, json.dumps({
        "v": 1, "id": "c-20", "command": "recorder.release",
        "release": {"hold_id": "c-17", "who": "Officer Wang", "why": "complaint closed"},
    }).encode())
    assert released["ok"] and released["result"][0]["state"] == "released"


def test_the_command_schema_is_published_for_central() -> None:
    schema = json.dumps(command_schema())
    assert "recorder.hold" in schema and "until" in schema and "window" in schema


@pytest.fixture
def agent(tmp_path: Path, broker: MosquittoBroker) -> Iterator[RecorderAgent]:
    config = recorder_config(tmp_path, [{"id": "cam-1", "url": "tcp://127.0.0.1:9"}])
    config = config.model_copy(update={"broker": config.broker.model_copy(update={"port": broker.port})})
    running = RecorderAgent(config)
    running.recorder.start(record=False)
    running.agent.start()
    yield running
    running.stop()


def test_a_hold_command_over_mqtt_is_answered_on_the_reply_topic(
    agent: RecorderAgent, broker: MosquittoBroker
) -> None:
    replies: queue.Queue[dict] = queue.Queue()
    online: queue.Queue[dict] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="central-test")

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        body = json.loads(message.payload)
        if message.topic == STATUS:
            if body.get("state") == "online":
                online.put(body)
        else:
            replies.put(body)

    client.on_message = on_message
    client.connect("127.0.0.1", broker.port)
    client.subscribe([(REPLY, 1), (STATUS, 1)])
    client.loop_start()
    try:
        # The recorder subscribes to its commands before it says "online" on the same
        # connection, and the broker keeps a connection's order: once "online" is seen
        # here, a command cannot overtake the subscription (its `connected` flag is set
        # before the subscription has even left the recorder).
        online.get(timeout=DEADLINE_S)
        client.publish(COMMANDS, hold_command("c-21"), qos=1)
        reply = replies.get(timeout=DEADLINE_S)
    finally:
        client.loop_stop()
        client.disconnect()
    assert reply["ok"] and reply["id"] == "c-21"
    assert agent.recorder.index.holds.get("c-21") is not None
