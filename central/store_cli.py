"""`hall central migrate` and `hall central verify-events`: the event store's schema and its check,
on whichever database `[database]` names (the password never printed)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from central.config import CentralConfig
from spine.config import ConfigError, load_config

_CONFIG = click.option("--config", "config_path", type=click.Path(path_type=Path), help="central TOML")


def _config(config_path: Path | None) -> CentralConfig:
    try:
        return load_config(CentralConfig, config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command(name="migrate")
@_CONFIG
def migrate(config_path: Path | None) -> None:
    """Bring the event store's schema to this release's revision (creating it on a new database)."""
    from central import migrations
    from central.store import CentralStore
    from spine.clock import SystemClock
    from spine.engines import open_engine

    url = _config(config_path).event_store
    if url.is_sqlite:
        # A SQLite file gets its tables as the store opens; the revision is then only recorded.
        CentralStore(url, SystemClock()).close()
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            revision = migrations.upgrade(connection)
    finally:
        engine.dispose()
    click.echo(f"{url}: schema at revision {revision}")


@click.command(name="verify-events")
@_CONFIG
def verify_events(config_path: Path | None) -> None:
    """Check the event log: its append-only guard in place, every row as its envelope says."""
    from central.store import CentralStore
    from spine.clock import SystemClock

    url = _config(config_path).event_store
    store = CentralStore(url, SystemClock())
    try:
        report = store.verify()
    finally:
        store.close()
    if report.ok:
        click.echo(f"ok: {report.checked} events in {url}")
        return
    where = f"first bad event: {report.first_bad}: " if report.first_bad else ""
    click.echo(f"FAILED: {where}{report.problem}", err=True)
    sys.exit(1)
