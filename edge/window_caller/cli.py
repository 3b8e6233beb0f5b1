"""`hall caller ...`: run a window caller."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from edge.runtime.cli import CONFIG_PATH, TRIAL, load_agent_config, open_keypad
from spine.service import run_until_signal


@click.group(name="caller")
def caller() -> None:
    """The window caller: the officer's keypad at one window."""


@caller.command("run")
@click.option("--config", "config_path", type=CONFIG_PATH, help="caller TOML (docs/kiosk.md)" + TRIAL)
def run(config_path: Path | None) -> None:
    """The officer's keys in, the hall queue's answers on the console, until stopped (SIGTERM, Ctrl-C)."""
    from edge.window_caller.caller import WindowCaller
    from edge.window_caller.config import CallerConfig

    config = load_agent_config(CallerConfig, config_path)
    try:
        config.window  # noqa: B018 - validates that a window is set
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    run_until_signal(lambda: WindowCaller(config, keypad=open_keypad(config.keypad)))


@caller.command("selftest")
@click.option("--config", "config_path", type=CONFIG_PATH, help="caller TOML (docs/kiosk.md)" + TRIAL)
@click.option("--keys", "ask_keys", is_flag=True, help="also ask for every key of the officer's keypad")
@click.option("--key-timeout", default=20.0, show_default=True, help="seconds to wait for each key")
@click.option("--offline", is_flag=True, help="only the caller's own checks: no broker login, no gateway")
def selftest(config_path: Path | None, ask_keys: bool, key_timeout: float, offline: bool) -> None:
    """Check the window and the officer's keypad, then the broker login and the round trip to the
    gateway, which makes a provisioned caller active; exit 1 on any failure.

    Stop the running caller first (systemctl stop hallwatch-caller): both use the device's id.
    """
    from edge.window_caller.config import CallerConfig
    from edge.window_caller.selftest import selftest as run_selftest

    config = load_agent_config(CallerConfig, config_path)
    report = run_selftest(config, out=click.echo, ask_keys=ask_keys, key_timeout_s=key_timeout,
                          offline=offline)
    sys.exit(0 if report.passed else 1)
