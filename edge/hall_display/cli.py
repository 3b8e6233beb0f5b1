"""`hall display ...`: run a hall display."""

from __future__ import annotations

from pathlib import Path

import click

from edge.runtime.cli import CONFIG_PATH, TRIAL, load_agent_config
from spine.service import run_until_signal


@click.group(name="display")
def display() -> None:
    """The hall display: the hall's calls as they happen."""


@display.command("run")
@click.option("--config", "config_path", type=CONFIG_PATH,
              help="display TOML: [device] kind = \"display\", [broker], [outbox]" + TRIAL)
def run(config_path: Path | None) -> None:
    """Print every call of the hall as a display would show it (and a voice box would say it)."""
    from edge.hall_display.config import DisplayConfig
    from edge.hall_display.display import HallDisplay

    config = load_agent_config(DisplayConfig, config_path)
    run_until_signal(lambda: HallDisplay(config, show=click.echo))
