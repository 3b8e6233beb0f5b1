"""`hall central ...`: run central and use its operator tools."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from central.anomalies.cli import anomalies_group
from central.cases.cli import register_case_commands
from central.config import CentralConfig
from central.erasure.cli import privacy_group
from central.store import CentralHandler
from central.store_cli import migrate, verify_events
from spine.config import ConfigError, load_config

log = logging.getLogger(__name__)

HandlerFactory = Callable[[CentralConfig], Sequence[CentralHandler]]
"""Handlers of other roles for a central built from this configuration (the composition root's)."""


def central_commands(extra_handlers: HandlerFactory | None = None) -> click.Group:
    """The `hall central` group; `extra_handlers` lets the root add what central may not import."""

    @click.group(name="central")
    def group() -> None:
        """Central supervision."""

    register_case_commands(group)
    group.add_command(privacy_group)
    group.add_command(anomalies_group)
    group.add_command(migrate)
    group.add_command(verify_events)

    @group.command("run")
    @click.option("--config", "config_path", type=click.Path(path_type=Path), help="central TOML")
    def run(config_path: Path | None) -> None:
        """Receive the halls' events, run the engine, serve the API and the big screen."""
        from central.service import CentralService
        from spine.service import run_until_signal

        try:
            config = load_config(CentralConfig, config_path)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from exc
        if config.provisioning_registry is not None and extra_handlers is None:
            log.warning("provisioning_registry is set, but this `hall central` has no registry "
                        "handler: activations reported by the gateways will not reach the registry")
        handlers = list(extra_handlers(config)) if extra_handlers else []
        run_until_signal(lambda: CentralService(config, handlers=handlers))

    return group


