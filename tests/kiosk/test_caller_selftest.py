"""`hall caller selftest`: a window caller becomes active at the gateway through its own documented
command, like every other device."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from edge.runtime.hardware.keys import SimulatedKeypad
from edge.window_caller.config import CallerConfig
from edge.window_caller.selftest import keys_to_test, selftest
from gateway.config import GatewayConfig
from gateway.service import GatewayService
from hallwatch.cli import main
from spine.broker.runner import MosquittoBroker
from tests.kiosk.conftest import FAST_UPLINK, HALL, caller_config, dead_port

PROMPT = re.compile(r"press the key for .* \((?P<key>[^)]+)\) \.\.\.$")


def caller_toml(root: Path, broker_port: int, *, window: str | None = "2") -> Path:
    path = root / "caller.toml"
    window_line = f'window = "{window}"' if window else ""
    path.write_text(f"""
data_dir = "{root}/caller"
[device]
id = "caller-2"
hall = "{HALL}"
kind = "caller"
{window_line}
[broker]
port = {broker_port}
[outbox]
path = "{root}/caller/outbox.sqlite"
[caller]
transfer_keys = {{ "1" = "A" }}
[keypad]
kind = "console"
keys = {{ "7" = "7", "L" = "login", "N" = "call_next", "C" = "complete" }}
""", encoding="utf-8")
    return path


def test_a_caller_passes_its_own_selftest_and_becomes_active_at_the_gateway(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    gateway = GatewayService(GatewayConfig.model_validate({
        "gateway": {"id": "gw-hall-01", "hall": HALL}, "store_path": str(tmp_path / "gw.sqlite"),
        "hall_broker": {"port": broker.port}, "central_broker": {"port": broker.port},
        "uplink": FAST_UPLINK, "devices": {"known": [{"id": "caller-2", "kind": "caller", "window": "2"}]},
    }))
    gateway.start()
    try:
        config = caller_toml(tmp_path, broker.port)
        result = CliRunner().invoke(main, ["caller", "selftest", "--config", str(config)], input="")
        reports = gateway.db.query("SELECT count(*) FROM events WHERE type = 'device.selftest'")
    finally:
        gateway.stop()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "[ok] window: window 2; transfer keys: 1 -> A" in lines
    assert "[ok] keypad: console keypad open" in lines
    assert "PASSED: caller-2 is active at the gateway" in lines
    assert reports == [(1,)]


def test_with_keys_the_technician_presses_every_key_of_the_officers_keypad(tmp_path: Path) -> None:
    config = CallerConfig.model_validate({
        **caller_config(tmp_path, broker_port=dead_port(), window="2").model_dump(),
        "keypad": {"kind": "console", "keys": {"7": "7", "L": "login", "N": "call_next"}},
    })
    keypad = SimulatedKeypad("caller-2")
    asked: list[str] = []
    lines: list[str] = []

    def technician(line: str) -> None:
        lines.append(line)
        match = PROMPT.search(line)
        if match:
            asked.append(match["key"])
            keypad.press(match["key"])

    report = selftest(config, out=technician, ask_keys=True, keypad=keypad, offline=True)
    assert report.passed, "\n".join(lines)
    assert asked == ["7", "login", "call_next"] == [key for key, _ in keys_to_test(config)]
    assert lines[-1] == "PASSED (offline: no broker login, no gateway round trip)"


def test_a_caller_without_a_window_fails_its_selftest_saying_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["caller", "selftest", "--offline", "--config",
                                       str(caller_toml(tmp_path, dead_port(), window=None))], input="")
    assert result.exit_code == 1
    assert "[FAILED] window: a window caller needs device.window or caller.window" in result.output
