"""`hall rating ...`: run and check the rating agent."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from edge.runtime.cli import CONFIG_PATH, TRIAL, load_agent_config, open_hardware
from spine.service import run_until_signal


@click.group(name="rating")
def rating() -> None:
    """The rating agent."""


def _load(path: Path | None) -> Any:
    from edge.rating_terminal.config import RatingTerminalConfig

    return load_agent_config(RatingTerminalConfig, path)


CONFIG = click.option("--config", "config_path", type=CONFIG_PATH,
                      help="rating terminal TOML (docs/rating.md)" + TRIAL)


@rating.command("run")
@CONFIG
def run(config_path: Path | None) -> None:
    """Ask for a rating whenever the window completes a visit (or the officer asks), until stopped."""
    from edge.rating_terminal.agent import RatingTerminal

    config = _load(config_path)
    run_until_signal(lambda: open_hardware(lambda: RatingTerminal(config)))


@rating.command("selftest")
@CONFIG
@click.option("--key-timeout", default=20.0, show_default=True, help="seconds to wait for each key")
def selftest(config_path: Path | None, key_timeout: float) -> None:
    """Ask for every key, light every lamp, report to the gateway; exit 1 on any failure.

    Stop the running terminal first (systemctl stop hallwatch-rating): both use the device's id.
    """
    from edge.rating_terminal.selftest import selftest as run_selftest

    report = run_selftest(_load(config_path), out=click.echo, key_timeout_s=key_timeout)
    sys.exit(0 if report.passed else 1)


@rating.command("diagnostics")
@CONFIG
def diagnostics(config_path: Path | None) -> None:
    """Print a redacted snapshot of the terminal's configuration and outbox, without connecting."""
    from edge.rating_terminal.selftest import snapshot

    click.echo(json.dumps(snapshot(_load(config_path)), indent=2, ensure_ascii=False))
