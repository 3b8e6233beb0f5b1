"""`hall gateway ...`: run the hall gateway, and the technician's commands on the gateway."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import click

from gateway.config import GatewayConfig
from spine.config import ConfigError, load_config

STORE = Path("/var/lib/hallwatch/gateway.sqlite")
BROKER_DIR = Path("/var/lib/hallwatch/broker")


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


@gateway.command("apply-registry")
@click.argument("state_file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--store", type=click.Path(path_type=Path), default=STORE, show_default=True,
              help="the gateway's SQLite file")
@click.option("--broker-dir", type=click.Path(path_type=Path), default=BROKER_DIR, show_default=True,
              help="the hall broker's password file and ACL")
@click.option("--reload", "reload_spec", default="systemd:hallwatch-broker.service", show_default=True,
              help="how the broker is told: systemd:UNIT, pid:PID or none")
def apply_registry_command(state_file: Path, store: Path, broker_dir: Path, reload_spec: str) -> None:
    """Apply a hall registry file (`hall provision hall state`); a running gateway picks it up."""
    from pydantic import ValidationError

    from contract.commands.registry import HallState
    from contract.registry import describe_error
    from gateway.registry.apply import apply_registry
    from spine.broker.security import reloader

    try:
        reload = reloader(reload_spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--reload") from exc
    try:
        state = HallState.model_validate_json(state_file.read_text())
    except ValidationError as exc:
        raise click.ClickException(f"{state_file} is not a hall registry: {describe_error(exc)}") from exc
    apply_registry(state, store, broker_dir, reload)
    click.echo(f"registry version {state.version} applied: {state.summary()['devices']}")


@gateway.command("devices")
@click.option("--store", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=STORE,
              show_default=True, help="the gateway's SQLite file")
def devices(store: Path) -> None:
    """Each device's state and its last self-test, as the gateway sees them."""
    from gateway.registry.store import device_views

    # Read-only: looking must never create or change the gateway's file.
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        for view in device_views(db):
            click.echo(view.line())
    finally:
        db.close()


@gateway.command("release")
@click.argument("device")
@click.option("--by", "technician", required=True, help="who releases it (recorded and sent to central)")
@click.option("--reason", default="", help="what was found and done")
@click.option("--store", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=STORE,
              show_default=True, help="the gateway's SQLite file")
def release(device: str, technician: str, reason: str, store: Path) -> None:
    """Release a device the gateway quarantined after repeated refusals (docs/security.md).

    A running gateway notices at once and records `security.released` for central.
    """
    import time

    from gateway.registry import quarantine
    from gateway.registry.store import ensure_tables
    from spine.database import Database

    db = Database(store)
    try:
        ensure_tables(db)
        with db.transaction() as tx:
            released = quarantine.release(tx, device, technician, reason, int(time.time() * 1000))
    finally:
        db.close()
    if not released:
        raise click.ClickException(f"device {device!r} is not in quarantine")
    click.echo(f"{device} released from quarantine by {technician}")
