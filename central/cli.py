"""`hall central ...`: run central and use its operator tools."""

from __future__ import annotations

import threading
from pathlib import Path

import click

from central.cases.cli import register_case_commands
from central.config import CentralConfig
from edge.runtime.agent import install_signal_handlers
from spine.config import ConfigError, load_config


@click.group(name="central")
def central() -> None:
    """Central supervision."""


register_case_commands(central)


@central.command("run")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="central TOML")
def run(config_path: Path | None) -> None:
    """Receive the halls' events, run the engine, serve the API and the big screen."""
    from central.service import CentralService

    try:
        config = load_config(CentralConfig, config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    service = CentralService(config)
    stop = threading.Event()
    install_signal_handlers(stop)
    service.start()
    try:
        stop.wait()
    finally:
        service.stop()
