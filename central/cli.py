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
from central.followers import LogFollower
from central.store_cli import migrate, verify_events
from spine.config import ConfigError, load_config

log = logging.getLogger(__name__)

FollowerFactory = Callable[[CentralConfig], Sequence[LogFollower]]
"""Other roles' followers of the event log for a central built from this configuration (the
composition root's: provisioning's registry, `hallwatch.roots`)."""


def central_commands(extra_followers: FollowerFactory | None = None) -> click.Group:
    """The `hall central` group; `extra_handlers` lets the root add what central may not import."""

    @click.group(name="central")
    def group() -> None:
        """Central supervision."""

    register_case_commands(group)
    group.add_command(privacy_group)
    group.add_command(anomalies_group)
    group.add_command(migrate)
    group.add_command(verify_events)
    group.add_command(sms_group)

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
        if config.provisioning_registry is not None and extra_followers is None:
            log.warning("provisioning_registry is set, but this `hall central` has no registry "
                        "follower: activations reported by the gateways will not reach the registry")
        followers = list(extra_followers(config)) if extra_followers else []
        run_until_signal(lambda: CentralService(config, followers=followers))

    return group




@click.group(name="sms")
def sms_group() -> None:
    """The SMS platform's outbox."""


@sms_group.command("move-to-database")
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="central TOML: its [database] (PostgreSQL) and data_dir")
@click.option("--from", "source", type=click.Path(path_type=Path, dir_okay=False),
              help="the SQLite outbox to move [default: [sms] store, else <data_dir>/sms.sqlite]")
@click.option("--rename", is_flag=True,
              help="after the commit, rename the file (and its -wal, -shm) to <name>.moved")
def move_sms_to_database(config_path: Path | None, source: Path | None, rename: bool) -> None:
    """Copy a process's sms.sqlite into central's PostgreSQL database: the phone key, opt-outs,
    messages in every state with their parts and attempts, and replies. One transaction; a
    second run adds nothing; the file is only read (renamed only with --rename). Run it with
    central's processes stopped, as the database's owner (the role `hall central migrate` runs as)."""
    from central.sms.move import SmsMoveRefused, move_to_database

    try:
        config = load_config(CentralConfig, config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if config.event_store.is_sqlite:
        raise click.ClickException("central's [database] is a SQLite file: its SMS outbox is the "
                                   "data directory's sms.sqlite already, there is nothing to move")
    source = source or config.sms_settings.store
    if not source.exists():
        raise click.ClickException(f"{source}: no such file")
    try:
        report = move_to_database(source, config.event_store, rename=rename)
    except SmsMoveRefused as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{source} -> {config.event_store}: phone key {report.key}")
    for table, held in report.in_file.items():
        click.echo(f"  {table}: {held} in the file, {report.added[table]} added, "
                   f"{report.already[table]} already there")
    if report.renamed_to is not None:
        click.echo(f"  the file is now {report.renamed_to}")
