"""The rating terminal with real keypads: GPIO buttons, an RS-485 Modbus keypad, a framed evaluator."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from gpiozero.pins.mock import MockFactory
from paho.mqtt.enums import CallbackAPIVersion

from contract.commands.rating import RatingArm
from contract.events.rating import VisitRef
from edge.rating_terminal.agent import RatingTerminal
from edge.rating_terminal.session import Phase
from edge.runtime.hardware.pins import simulated_pins
from spine.broker.runner import MosquittoBroker, free_port
from tests.keypad.serial_parts import FramedEvaluator, ModbusKeypadServer, PtyPair
from tests.keypad.test_framed_serial import Evaluator
from tests.rating.conftest import Spy, terminal_config
from tests.support import wait_until

VISIT = {"day": "2026-11-26", "ticket": "A003"}


@pytest.fixture
def mock_factory() -> Iterator[MockFactory]:
    with simulated_pins() as factory:
        yield factory


def test_gpio_terminal_counts_one_bouncing_press_and_lights_please_rate_then_thanks(
    tmp_path: Path, mock_factory: MockFactory,
) -> None:
    config = terminal_config(
        tmp_path, broker_port=free_port(),
        keypad={"kind": "gpio", "keys": {"1": 5, "2": 6, "3": 13, "4": 19, "5": 26, "please_rate": 21}},
        indicator={"kind": "gpio", "lamps": {"please_rate": 17, "thanks": 27}, "buzzer": 22},
        rating={"thanks_s": 0.5},
    )
    terminal = RatingTerminal(config, pin_factory=mock_factory)
    spy = Spy(terminal)
    terminal.start()
    try:
        terminal.arm(VISIT, "gw-arm-0001")
        wait_until(lambda: mock_factory.pin(17).state, 5, "please-rate lamp blinking")
        key = mock_factory.pin(6)
        for _ in range(5):  # a bouncing contact
            key.drive_low()
            key.drive_high()
        key.drive_low()
        wait_until(lambda: terminal.session.phase is Phase.THANKS, 5, "thank you")
        assert mock_factory.pin(27).state and not mock_factory.pin(17).state
        key.drive_high()
        wait_until(lambda: terminal.session.phase is Phase.IDLE, 5, "back to idle")
        assert [b["grade"] for b in spy.of("rating.given")] == ["satisfied"]
        assert not mock_factory.pin(27).state
    finally:
        terminal.stop()


def test_cable_pulled_mid_visit_is_one_fault_not_rated_and_no_phantom_rating(tmp_path: Path) -> None:
    pair = PtyPair(tmp_path)
    keypad = ModbusKeypadServer(pair.b)
    keypad.start()
    config = terminal_config(
        tmp_path, broker_port=free_port(),
        keypad={"kind": "modbus", "port": pair.a, "timeout_s": 0.15, "retries": 0, "poll_ms": 20,
                "fault_after": 3},
        rating={"arm_window_s": 2.0},
    )
    terminal = RatingTerminal(config)
    spy = Spy(terminal)
    terminal.start()
    try:
        wait_until(lambda: getattr(terminal.keypad, "_counter", None) is not None, 5, "keypad synchronised")
        terminal.arm(VISIT, "gw-arm-0001")
        keypad.stop()  # the RS-485 cable is pulled while the citizen is asked
        wait_until(lambda: spy.of("rating.terminal_fault"), 10, "the fault recorded")
        keypad.press(1)  # pressed on the dead keypad
        wait_until(lambda: spy.of("rating.not_rated"), 10, "the arming runs out")
        keypad.start()
        wait_until(lambda: len(spy.of("rating.terminal_fault")) == 2, 10, "the keypad back")
        keypad.press(2)  # a press with nothing armed
        wait_until(lambda: spy.of("rating.key_flagged"), 10, "the unarmed press flagged")
        assert spy.of("rating.given") == []
        assert spy.of("rating.not_rated")[0]["why"] == "fault"
        assert [f["state"] for f in spy.of("rating.terminal_fault")] == ["fault", "ok"]
        assert {f["flag"] for f in spy.of("rating.key_flagged")} <= {"missed", "unarmed"}
    finally:
        terminal.stop()
        keypad.stop()
        pair.stop()


def test_framed_evaluator_bad_rating_then_reason(tmp_path: Path) -> None:
    pair = PtyPair(tmp_path)
    config = terminal_config(
        tmp_path, broker_port=free_port(),
        keypad={"kind": "framed_serial", "port": pair.a, "address": 3},
        rating={"mash_ms": 0},
    )
    terminal = RatingTerminal(config)
    spy = Spy(terminal)
    evaluator = Evaluator(pair.b)
    terminal.start()
    try:
        terminal.arm(VISIT, "gw-arm-0001")
        evaluator.echo(len(evaluator.key(4)))  # 不满意
        wait_until(lambda: terminal.session.phase is Phase.REASON, 5, "the reason step")
        evaluator.echo(len(evaluator.key(1)))  # 服务态度差
        wait_until(lambda: spy.of("rating.reason"), 5, "the reason")
        assert [g["grade"] for g in spy.of("rating.given")] == ["dissatisfied"]
        assert spy.of("rating.reason")[0]["reason"] == "attitude"
    finally:
        terminal.stop()
        evaluator.line.close()
        pair.stop()


def test_arm_commands_on_the_cmd_topic_and_stale_ones_are_ignored(
    tmp_path: Path, broker: MosquittoBroker,
) -> None:
    terminal = RatingTerminal(terminal_config(tmp_path, broker_port=broker.port))
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gateway-test")
    statuses: list[dict[str, object]] = []
    client.on_connect = lambda c, *_: c.subscribe("hall/hall-01/dev/rating-w3/status", qos=1)
    client.on_message = lambda _c, _u, m: statuses.append(json.loads(m.payload))
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    terminal.start()
    try:
        # The terminal announces itself online after subscribing, on the same connection: once
        # its status is here, the broker holds its command subscription too.
        wait_until(lambda: any(s.get("state") == "online" for s in statuses), 10, "terminal online")
        topic = "hall/hall-01/dev/rating-w3/cmd"
        stale = RatingArm(arming="gw-arm-old1", visit=VisitRef(**VISIT), window="3",
                          issued_at=int(time.time() * 1000) - 3_600_000)
        client.publish(topic, stale.model_dump_json(), qos=1).wait_for_publish(5)
        wait_until(lambda: terminal.counts["arms_ignored"] == 1, 10, "the stale arm ignored")
        assert terminal.session.phase is Phase.IDLE
        fresh = stale.model_copy(update={"arming": "gw-arm-new1", "issued_at": int(time.time() * 1000)})
        client.publish(topic, fresh.model_dump_json(), qos=1).wait_for_publish(5)
        wait_until(lambda: terminal.session.phase is Phase.ARMED, 10, "armed by the gateway")
        assert terminal.session.arming is not None and terminal.session.arming.id == "gw-arm-new1"
    finally:
        client.disconnect()
        client.loop_stop()
        terminal.stop()


class Heartbeats:
    """The terminal's heartbeats as the gateway hears them."""

    def __init__(self, port: int, topic: str) -> None:
        self.beats: list[dict[str, object]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="heartbeat-test")
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=0)
        self.client.on_message = lambda _c, _u, m: self.beats.append(json.loads(m.payload))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def last_keypad(self) -> object:
        return self.beats[-1].get("keypad") if self.beats else None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_a_pulled_keypad_cable_shows_in_the_heartbeat_like_a_printer_and_is_recorded_once_each_way(
    tmp_path: Path, broker: MosquittoBroker,
) -> None:
    pair = PtyPair(tmp_path)
    keypad = ModbusKeypadServer(pair.b)
    keypad.start()
    terminal = RatingTerminal(terminal_config(
        tmp_path, broker_port=broker.port,
        keypad={"kind": "modbus", "port": pair.a, "timeout_s": 0.15, "retries": 0, "poll_ms": 20,
                "fault_after": 3},
    ))
    spy = Spy(terminal)
    beats = Heartbeats(broker.port, "hall/hall-01/dev/rating-w3/heartbeat")
    terminal.start()
    try:
        wait_until(lambda: beats.last_keypad() == "ok", 10, "a heartbeat with the keypad ok")
        keypad.stop()  # the RS-485 cable is pulled
        wait_until(lambda: beats.last_keypad() == "fault", 10, "a heartbeat with the keypad faulted")
        keypad.start()
        wait_until(lambda: beats.last_keypad() == "ok", 10, "a heartbeat with the keypad back")
        assert [(f["state"], bool(f["detail"])) for f in spy.of("rating.terminal_fault")] == [
            ("fault", True), ("ok", False)]
        assert "keypad_ok" not in beats.beats[-1]
    finally:
        beats.close()
        terminal.stop()
        keypad.stop()
        pair.stop()


def test_a_framed_evaluator_is_told_please_rate_the_reasons_thanks_and_out_of_order(tmp_path: Path) -> None:
    pair = PtyPair(tmp_path)
    screen = FramedEvaluator(pair.b)
    terminal = RatingTerminal(terminal_config(
        tmp_path, broker_port=free_port(), keypad={"kind": "framed_serial", "port": pair.a, "address": 3},
        rating={"mash_ms": 0, "thanks_s": 0.5},
    ))
    terminal.start()
    try:
        wait_until(lambda: screen.shown() == [(0, 0)], 5, "the evaluator idle once the terminal runs")
        terminal.arm(VISIT, "gw-arm-0001")
        wait_until(lambda: screen.shown()[-1:] == [(1, 10)], 5, "please rate, for arm_window_s")
        screen.key(4)  # 不满意
        wait_until(lambda: screen.shown()[-1:] == [(2, 15)], 5, "the reason menu, for reason_window_s")
        screen.key(1)  # 服务态度差
        wait_until(lambda: screen.shown()[-2:] == [(3, 1), (0, 0)], 5, "thank you, then idle")
    finally:
        terminal.stop()
    wait_until(lambda: screen.shown()[-1:] == [(4, 0)], 5, "out of order once the terminal stops")
    assert screen.shown() == [(0, 0), (1, 10), (2, 15), (3, 1), (0, 0), (4, 0)]
    screen.close()
    pair.stop()


def test_a_modbus_evaluator_gets_each_prompt_in_its_holding_registers(tmp_path: Path) -> None:
    pair = PtyPair(tmp_path)
    keypad = ModbusKeypadServer(pair.b)
    keypad.start()
    terminal = RatingTerminal(terminal_config(
        tmp_path, broker_port=free_port(),
        keypad={"kind": "modbus", "port": pair.a, "timeout_s": 0.15, "retries": 0, "poll_ms": 20,
                "registers": {"prompt": 16}},
        rating={"thanks_s": 3},
    ))
    terminal.start()
    try:
        wait_until(lambda: getattr(terminal.keypad, "_counter", None) is not None, 5, "keypad synchronised")
        terminal.arm(VISIT, "gw-arm-0001")
        wait_until(lambda: keypad.prompts()[-1:] == [[1, 10]], 5, "please rate in registers 16-17")
        keypad.press(1)  # 非常满意
        wait_until(lambda: keypad.prompts()[-1:] == [[3, 3]], 5, "thank you")
    finally:
        terminal.stop()
    assert keypad.prompts()[0] == [0, 0] and keypad.prompts()[-1] == [4, 0]
    keypad.stop()
    pair.stop()
