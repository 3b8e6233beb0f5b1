"""`hall gateway ...`: run the hall gateway."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gateway.config import GatewayConfig
from spine.config import ConfigError, load_config


@click.group(name="gateway")
def gateway() -> None:
    """The hall gateway."""


def _load(config_path: Path | None) -> GatewayConfig:
    try:
        return load_config(GatewayConfig, config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@gateway.command("run")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="gateway TOML")
def run(config_path: Path | None) -> None:
    """Receive the hall's devices, keep the hall's state, forward to central."""
    from gateway.service import GatewayService
    from spine.service import run_until_signal

    config = _load(config_path)
    run_until_signal(lambda: GatewayService(config))


@gateway.command("check-config")
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True)
def check_config(config_path: Path) -> None:
    """Validate a configuration file and print it with secrets masked."""
    config = _load(config_path)
    click.echo(json.dumps(config.model_dump(mode="json"), indent=2, ensure_ascii=False))
