"""`hall caller ...`: run a window caller."""

from __future__ import annotations

from pathlib import Path

import click

from edge.runtime.cli import CONFIG_PATH, load_agent_config, open_keypad
from spine.service import run_until_signal


@click.group(name="caller")
def caller() -> None:
    """The window caller: the officer's keypad at one window."""


@caller.command("run")
@click.option("--config", "config_path", type=CONFIG_PATH, required=True, help="caller TOML (docs/kiosk.md)")
def run(config_path: Path) -> None:
    """The officer's keys in, the hall queue's answers on the console, until stopped (SIGTERM, Ctrl-C)."""
    from edge.window_caller.caller import WindowCaller
    from edge.window_caller.config import CallerConfig

    config = load_agent_config(CallerConfig, config_path)
    try:
        config.window  # noqa: B018 - validates that a window is set
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    run_until_signal(lambda: WindowCaller(config, keypad=open_keypad(config.keypad)))
