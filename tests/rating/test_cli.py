"""`hall rating selftest` and `hall rating diagnostics`, and the demo terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from edge.rating_terminal.cli import rating
from edge.rating_terminal.demo import start_demo_terminal
from edge.rating_terminal.selftest import keys_to_test, selftest
from edge.runtime.hardware.keys import SimulatedKeypad
from gateway.config import GatewayConfig
from gateway.service import GatewayService
from spine.broker.runner import MosquittoBroker, free_port
from spine.config import BrokerSettings
from tests.rating.conftest import FAST_UPLINK, HALL, terminal_config
from tests.support import wait_until

PROMPT = re.compile(r"press the key for .* \((?P<key>[^)]+)\) \.\.\.$")


def test_selftest_asks_for_every_key_lights_the_lamps_and_reports_to_the_gateway(
    tmp_path: Path, broker: MosquittoBroker,
) -> None:
    gateway = GatewayService(GatewayConfig.model_validate({
        "gateway": {"id": "gw-hall-01", "hall": HALL}, "hall_broker": {"port": broker.port},
        "central_broker": {"port": broker.port}, "store_path": str(tmp_path / "gateway.sqlite"),
        "uplink": FAST_UPLINK,
        "devices": {"known": [{"id": "rating-w3", "kind": "rating", "window": "3"}]},
    }))
    gateway.start()
    config = terminal_config(tmp_path, broker_port=broker.port)
    keypad = SimulatedKeypad("rating-w3")
    lines: list[str] = []
    asked: list[str] = []

    def technician(line: str) -> None:
        lines.append(line)
        match = PROMPT.search(line)
        if match:
            asked.append(match["key"])
            keypad.press(match["key"])

    try:
        report = selftest(config, out=technician, keypad=keypad, connect_timeout_s=10, gateway_timeout_s=20)
    finally:
        gateway.stop()
    assert asked == ["1", "2", "3", "4", "5", "please_rate"]
    assert [key for key, _ in keys_to_test(config)] == asked
    assert report.passed, "\n".join(lines)
    assert report.gateway_state == "active"


def test_a_key_that_never_comes_fails_the_selftest(tmp_path: Path) -> None:
    config = terminal_config(tmp_path, broker_port=free_port())
    keypad = SimulatedKeypad("rating-w3")

    def technician(line: str) -> None:
        match = PROMPT.search(line)
        if match and match["key"] != "5":  # the 非常不满意 switch is broken
            keypad.press(match["key"])

    report = selftest(config, out=lambda line: technician(line), keypad=keypad, key_timeout_s=0.5,
                      connect_timeout_s=0.5)
    failed = {step.name: step.reason for step in report.failures()}
    assert "key 5" in failed and "not pressed" in failed["key 5"]
    assert not report.passed


def test_diagnostics_prints_a_redacted_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "rating.toml"
    path.write_text(
        '[device]\nid = "rating-w3"\nhall = "hall-01"\nkind = "rating"\nwindow = "3"\n'
        f'[broker]\nport = {free_port()}\nusername = "rating-w3"\npassword = "s3cret-value"\n'
        f'[outbox]\npath = "{tmp_path / "outbox.sqlite"}"\n'
        '[keypad]\nkind = "framed_serial"\nport = "/dev/ttyUSB0"\naddress = 3\n'
        '[rating]\narm_window_s = 12\n', encoding="utf-8")
    result = CliRunner().invoke(rating, ["diagnostics", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "s3cret-value" not in result.output
    report = json.loads(result.stdout)
    assert report["rating"]["keypad"]["kind"] == "framed_serial"
    assert report["rating"]["grades"]["2"] == "满意" and report["rating"]["arm_window_s"] == 12


def test_a_bad_configuration_lists_every_wrong_key(tmp_path: Path) -> None:
    path = tmp_path / "rating.toml"
    path.write_text('[device]\nid = "rating-w3"\nhall = "hall-01"\nkind = "rating"\n'
                    '[keypad]\nkind = "modbus"\n[rating]\narm_window_s = -1\nplease_rate_key = "1"\n')
    result = CliRunner().invoke(rating, ["run", "--config", str(path)])
    assert result.exit_code != 0
    assert "keypad.modbus.port" in result.output and "rating.arm_window_s" in result.output


def test_the_demo_terminal_rates_when_the_gateway_arms_it(tmp_path: Path, broker: MosquittoBroker) -> None:
    demo = start_demo_terminal(BrokerSettings(port=broker.port), HALL, "3", tmp_path / "rating-w3",
                               think_s=(0.0, 0.1), seed=7)
    try:
        for n in range(3):
            demo.terminal.arm({"day": "2026-11-26", "ticket": f"A00{n + 1}"}, f"gw-arm-demo{n}")
            wait_until(lambda n=n: demo.terminal.counts["given"] + demo.terminal.counts["not_rated"] > n,
                       30, "the simulated citizen's answer")
    finally:
        summary = demo.stop()
    assert summary["given"] + summary["not_rated"] == 3


def test_the_demo_officer_asks_for_ratings_without_a_window_caller(tmp_path: Path) -> None:
    demo = start_demo_terminal(BrokerSettings(port=free_port()), HALL, "5", tmp_path / "rating-w5",
                               think_s=(0.0, 0.1), officer_every_s=0.2, seed=3)
    try:
        wait_until(lambda: demo.terminal.counts["given"] >= 2, 60, "two ratings asked by the officer")
    finally:
        demo.stop()
