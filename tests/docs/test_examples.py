"""`examples/*.toml` are the roles' embedded defaults written out, and they make a working hall.

README promises that every role runs without `--config` (a one-machine trial on loopback);
each example is what that role then runs on. Here every example is loaded, compared with
the embedded defaults, and started, all together, against a real Mosquitto: a ticket typed
on the kiosk's keypad is called and completed from the caller's keypad, shown by the
display, rated on the rating terminal's keypad, and counted at central.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from central.config import CentralConfig
from central.service import CentralService
from edge.camera_recorder.agent import RecorderAgent
from edge.camera_recorder.config import RecorderConfig
from edge.hall_display.config import DisplayConfig
from edge.hall_display.display import HallDisplay
from edge.queue_kiosk.config import KioskConfig
from edge.queue_kiosk.kiosk import Kiosk
from edge.rating_terminal.agent import RatingTerminal
from edge.rating_terminal.config import RatingTerminalConfig
from edge.rating_terminal.session import Phase
from edge.runtime.agent import AgentConfig, EdgeAgent
from edge.runtime.cli import open_keypad
from edge.window_caller.caller import WindowCaller
from edge.window_caller.config import CallerConfig
from gateway.config import GatewayConfig
from gateway.service import GatewayService
from hallwatch.cli import main
from spine.broker.runner import MosquittoBroker
from spine.config import ConfigError, load_config
from tests.support import wait_until

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ROLES: dict[str, type[BaseModel]] = {
    "kiosk": KioskConfig, "caller": CallerConfig, "display": DisplayConfig,
    "rating": RatingTerminalConfig, "recorder": RecorderConfig, "sim": AgentConfig,
    "gateway": GatewayConfig, "central": CentralConfig,
}
Model = TypeVar("Model", bound=BaseModel)


def test_every_role_has_an_example() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.toml")) == sorted(ROLES)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_each_example_is_its_role_s_embedded_defaults_written_out(role: str) -> None:
    model = ROLES[role]
    assert load_config(model, EXAMPLES / f"{role}.toml") == load_config(model, None)


class Keys:
    """A keypad's terminal: what the console keypad reads, typed by the test."""

    def __init__(self) -> None:
        read, self._write = os.pipe()
        self.stream = io.TextIOWrapper(os.fdopen(read, "rb"), encoding="utf-8")

    def type(self, *keys: str) -> None:
        os.write(self._write, (" ".join(keys) + "\n").encode())

    def close(self) -> None:
        os.close(self._write)  # end of input: the keypad's reader ends


def example(model: type[Model], role: str, broker: MosquittoBroker, **sections: Any) -> Model:
    return load_config(model, EXAMPLES / f"{role}.toml", broker={"port": broker.port}, **sections)


def test_the_examples_make_a_hall_that_serves_a_citizen(
    tmp_path: Path, broker: MosquittoBroker, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # the examples keep their files under var/, as a trial would
    port = {"port": broker.port}
    with ExitStack() as running:
        def start(part: Any, stop: Callable[[], Any] | None = None) -> Any:
            part.start()
            running.callback(stop or part.stop)
            return part

        def keypad_on(keys: Keys, settings: Any) -> Any:
            monkeypatch.setattr(sys, "stdin", keys.stream)  # the console keypad reads stdin
            running.callback(keys.close)
            return open_keypad(settings)

        central = start(CentralService(load_config(
            CentralConfig, EXAMPLES / "central.toml", broker=port, http={"port": 0})))
        gateway = start(GatewayService(load_config(
            GatewayConfig, EXAMPLES / "gateway.toml", hall_broker=port, central_broker=port)))
        shown: list[str] = []
        start(HallDisplay(example(DisplayConfig, "display", broker), show=shown.append))
        start(RecorderAgent(example(RecorderConfig, "recorder", broker)))
        sim = start(EdgeAgent(example(AgentConfig, "sim", broker)))
        kiosk_keys, officer_keys, citizen_keys = Keys(), Keys(), Keys()
        kiosk_config = example(KioskConfig, "kiosk", broker)
        start(Kiosk(kiosk_config, keypad=keypad_on(kiosk_keys, kiosk_config.keypad)))
        caller_config = example(CallerConfig, "caller", broker)
        start(WindowCaller(caller_config, keypad=keypad_on(officer_keys, caller_config.keypad)))
        rating_config = example(RatingTerminalConfig, "rating", broker)
        terminal = start(RatingTerminal(rating_config,
                                        keypad=keypad_on(citizen_keys, rating_config.keypad)))

        devices = {"kiosk-1", "caller-1", "display-1", "rating-w1", "rec-01", "sim-01"}
        wait_until(lambda: devices <= online(gateway), 30, "every example device online at the gateway")
        sim.record("sim.counter", {"n": 1})

        kiosk_keys.type("1", "#")  # a citizen takes a ticket of service A
        wait_until(lambda: count(gateway, "queue.ticket_issued") == 1, 20, "the ticket at the gateway")
        officer_keys.type("1", "0", "1", "login")
        officer_keys.type("call_next")
        wait_until(lambda: "请A001号到1号窗口办理" in " ".join(shown), 20, "the call on the display")
        officer_keys.type("complete")
        wait_until(lambda: terminal.session.phase is Phase.ARMED, 20,
                   "the rating terminal asking for a rating")
        citizen_keys.type("1")
        wait_until(lambda: received(central, "rating.recorded") == 1, 30, "the rating counted at central")
        for kind in ("queue.ticket_issued", "queue.called", "queue.served", "sim.counter"):
            assert received(central, kind) >= 1, kind
        assert (tmp_path / "var" / "kiosk-1" / "printer.bin").stat().st_size > 0


def online(gateway: GatewayService) -> set[str]:
    return {d["device"] for d in gateway.diagnostics()["devices"] if d["online"]}


def count(gateway: GatewayService, kind: str) -> int:
    return int(gateway.db.query("SELECT count(*) FROM events WHERE type = ?", (kind,))[0][0])


def received(central: CentralService, kind: str) -> int:
    return int(central.store.query("SELECT count(*) FROM events WHERE type = ?", (kind,))[0][0])



def test_a_file_never_falls_back_on_the_trial_identity(tmp_path: Path) -> None:
    """A provisioned device's file that lost its [device] is refused, never run as `kiosk-1`."""
    lines = (EXAMPLES / "kiosk.toml").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("[device]"))
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith("["))
    headless = tmp_path / "kiosk.toml"
    headless.write_text("\n".join(lines[:start] + lines[end:]), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"1 problem\(s\)[^-]*- device: Field required$"):
        load_config(KioskConfig, headless)


@pytest.mark.parametrize(("command", "says"), [
    (["kiosk", "diagnostics"], '"kiosk-1"'),
    (["rating", "diagnostics"], '"rating-w1"'),
    (["recorder", "diagnostics"], "rec-01"),
    (["device", "diagnostics"], '"sim-01"'),
])
def test_an_agent_runs_its_commands_without_a_config(
    command: list[str], says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, command, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert says in result.output
