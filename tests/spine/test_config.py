"""Configuration: every mistake listed at once, with the key and what would be right."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from edge.runtime.agent import AgentConfig
from hallwatch.cli import main
from spine.config import ConfigError, load_config


def test_every_wrong_key_is_listed_at_once(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(
        '[device]\nid = "Kiosk 01"\nhall = "hall-01"\nkind = "kiosk"\n'
        '[broker]\nport = 99999\npasword = "typo"\n'
        "[uplink]\ninflight_batches = 0\n"
    )

    with pytest.raises(ConfigError) as caught:
        load_config(AgentConfig, path)

    message = str(caught.value)
    assert "4 problem(s)" in message
    assert "device.id" in message and "lowercase" in message
    assert "broker.port" in message and "65535" in message
    assert "broker.pasword: Extra inputs are not permitted" in message
    assert "uplink.inflight_batches" in message
    assert "typo" not in message  # a mistyped secret is not echoed back


def test_a_missing_file_and_broken_toml_say_so(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[device\n")

    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(AgentConfig, tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(AgentConfig, broken)


def test_the_cli_reports_a_bad_configuration_and_exits_non_zero(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text("[gateway]\nhall = 'HALL ONE'\n")

    result = CliRunner().invoke(main, ["gateway", "check-config", "--config", str(path)])

    assert result.exit_code != 0
    assert "gateway.hall" in result.output


def test_the_gateway_says_at_start_up_how_its_broker_reload_is_wrong(tmp_path: Path) -> None:
    from gateway.config import GatewayConfig

    path = tmp_path / "gateway.toml"
    path.write_text('[gateway]\nid = "GW 1"\n[broker_access]\nreload = "kill -HUP"\n')

    with pytest.raises(ConfigError) as caught:
        load_config(GatewayConfig, path)

    message = str(caught.value)
    assert "2 problem(s)" in message and "gateway.id" in message
    assert "broker_access.reload" in message and "systemd:UNIT, pid:PID or none" in message
