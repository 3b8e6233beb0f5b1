"""`hall kiosk selftest` and `hall kiosk diagnostics` on a TOML configuration."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from edge.queue_kiosk.kiosk import Kiosk
from edge.queue_kiosk.printer.sim import SimulatedPrinter
from edge.queue_kiosk.printer.stream import text_lines
from gateway.config import GatewayConfig
from gateway.service import GatewayService
from hallwatch.cli import main
from spine.broker.runner import MosquittoBroker
from tests.kiosk.conftest import dead_port


def write_config(root: Path, printer_port: int) -> Path:
    path = root / "kiosk.toml"
    path.write_text(f"""
data_dir = "{root}/kiosk"
[device]
id = "kiosk-1"
hall = "hall-01"
kind = "kiosk"
[broker]
port = {dead_port()}
[outbox]
path = "{root}/kiosk/outbox.sqlite"
[hall]
name = "肃州区政务服务中心"
hours = ["00:00-24:00"]
[numbering]
slot = 1
slots = 2
[[services]]
prefix = "A"
name = "社保医保"
windows = ["1", "2"]
key = "1"
[printer]
kind = "network"
port = {printer_port}
status_timeout_ms = 200
""", encoding="utf-8")
    return path


def test_selftest_passes_and_prints_a_sample_without_spending_a_number(
    tmp_path: Path, printer: SimulatedPrinter
) -> None:
    config = write_config(tmp_path, printer.port)
    result = CliRunner().invoke(main, ["kiosk", "selftest", "--config", str(config), "--print", "--offline"])
    assert result.exit_code == 0, result.output
    assert "[ok] printer: network: ready" in result.output
    [job] = printer.wait_for_jobs(1)
    assert "TEST" in text_lines(job.tokens)


def test_selftest_fails_when_the_printer_is_out_of_paper(tmp_path: Path, printer: SimulatedPrinter) -> None:
    printer.paper_out = True
    config = write_config(tmp_path, printer.port)
    result = CliRunner().invoke(main, ["kiosk", "selftest", "--config", str(config), "--offline"])
    assert result.exit_code == 1
    assert "[FAILED] printer: network: paper_out" in result.output


def test_a_missing_password_file_fails_the_broker_step_with_the_reason_and_each_step_prints_once(
    tmp_path: Path, printer: SimulatedPrinter
) -> None:
    config = write_config(tmp_path, printer.port)
    missing = tmp_path / "secrets" / "mqtt.password"
    text = config.read_text(encoding="utf-8").replace(
        "[broker]\n", f'[broker]\nusername = "kiosk-1"\npassword_file = "{missing}"\n')
    config.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["kiosk", "selftest", "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    [broker] = [line for line in lines if "hall broker" in line]
    assert broker.startswith("[FAILED] hall broker: ") and str(missing) in broker
    assert "[FAILED] gateway round trip: not attempted without a broker login" in lines
    for step in ("configuration", "storage", "printer", "text"):
        assert sum(line.split("] ", 1)[-1].startswith(f"{step}:") for line in lines) == 1, step
    assert not any(line.startswith(("[FAIL]", "[ok  ]")) for line in lines)


def test_a_wrong_configuration_lists_every_wrong_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[device]\nid = "k"\nhall = "h"\nkind = "kiosk"\n[numbering]\nslot = 3\nslots = 2\n'
                    '[[services]]\nprefix = "a1"\nname = "x"\n[printer]\nkind = "fax"\n')
    result = CliRunner().invoke(main, ["kiosk", "selftest", "--config", str(path)])
    assert result.exit_code != 0
    for key in ("numbering", "services.0.prefix", "printer.kind"):
        assert key in result.output


def test_diagnostics_reports_the_day_the_tickets_and_the_printer(
    tmp_path: Path, printer: SimulatedPrinter
) -> None:
    path = write_config(tmp_path, printer.port)
    from edge.queue_kiosk.config import KioskConfig
    from spine.config import load_config

    kiosk = Kiosk(load_config(KioskConfig, path))
    kiosk.start()
    kiosk.issue("A")
    kiosk.issue("A")
    kiosk.stop()
    result = CliRunner().invoke(main, ["kiosk", "diagnostics", "--config", str(path)])
    assert result.exit_code == 0, result.output
    snapshot = json.loads(result.stdout)
    assert snapshot["tickets_today"] == 2 and snapshot["last_ticket"] == "A003"  # slot 1 of 2: 1, 3
    assert snapshot["printer"]["state"] == "ready"
    assert snapshot["outbox"]["events_waiting"] >= 3  # ready + two tickets, gateway unreachable


def test_selftest_ends_with_the_broker_login_and_a_round_trip_through_the_gateway(
    tmp_path: Path, printer: SimulatedPrinter, broker: MosquittoBroker
) -> None:
    offline = write_config(tmp_path, printer.port).read_text(encoding="utf-8")
    path = tmp_path / "online.toml"
    path.write_text(re.sub(r"\[broker\]\nport = \d+", f"[broker]\nport = {broker.port}", offline),
                    encoding="utf-8")
    gateway = GatewayService(GatewayConfig.model_validate({
        "store_path": str(tmp_path / "gw.sqlite"),
        "hall_broker": {"port": broker.port}, "central_broker": {"port": broker.port},
        "devices": {"known": [{"id": "kiosk-1", "kind": "kiosk"}]},
    }))
    gateway.start()
    try:
        result = CliRunner().invoke(main, ["kiosk", "selftest", "--config", str(path)])
        reports = gateway.db.query("SELECT count(*) FROM events WHERE type = 'device.selftest'")
    finally:
        gateway.stop()

    assert result.exit_code == 0, result.output
    assert "printer: network: ready" in result.output
    assert "gateway round trip" in result.output and "FAILED" not in result.output
    assert reports == [(1,)]  # the technician sees the result on the gateway


DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "systemd"


def test_each_queue_device_unit_runs_its_own_hall_command() -> None:
    for unit, command in {"hallwatch-kiosk": ["kiosk", "run"], "hallwatch-caller": ["caller", "run"],
                          "hallwatch-display": ["display", "run"]}.items():
        text = (DEPLOY / f"{unit}.service").read_text(encoding="utf-8")
        [start] = [line for line in text.splitlines() if line.startswith("ExecStart=")]
        assert start.split("/bin/hall ", 1)[1].split()[:2] == command, unit
        result = CliRunner().invoke(main, [*command, "--help"])
        assert result.exit_code == 0, result.output


def test_a_caller_without_a_window_is_refused_at_start(tmp_path: Path) -> None:
    path = tmp_path / "caller.toml"
    path.write_text(f'[device]\nid = "caller-x"\nhall = "hall-01"\nkind = "caller"\n'
                    f'[outbox]\npath = "{tmp_path}/outbox.sqlite"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["caller", "run", "--config", str(path)])
    assert result.exit_code == 1
    assert "needs device.window" in result.output


def test_a_display_with_a_wrong_key_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "display.toml"
    path.write_text('[device]\nid = "display-1"\nhall = "hall-01"\nkind = "display"\n[screen]\nrows = 4\n',
                    encoding="utf-8")
    result = CliRunner().invoke(main, ["display", "run", "--config", str(path)])
    assert result.exit_code == 1
    assert "screen" in result.output


def test_kiosk_buttons_on_a_pin_factory_that_does_not_load_stop_the_kiosk_with_the_reason(
    tmp_path: Path, printer: SimulatedPrinter
) -> None:
    path = write_config(tmp_path, printer.port)
    text = path.read_text(encoding="utf-8").replace('key = "1"\n', 'key = "1"\nbutton_pin = 17\n')
    path.write_text(text + '[buttons]\npin_factory = "no-such-factory"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["kiosk", "run", "--config", str(path)])
    assert result.exit_code == 1
    assert "no gpiozero pin factory named 'no-such-factory'" in result.output
