"""`hall kiosk ...`: run and check the kiosk agent, and run a window caller."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

import click

from spine.config import ConfigError, load_config


@click.group(name="kiosk")
def kiosk() -> None:
    """The queue kiosk agent and the window caller."""


def _load(model: Any, path: Path) -> Any:
    try:
        return load_config(model, path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _keypad(settings: Any) -> Any:
    if settings is None:
        return None
    from edge.runtime.hardware.factory import KeypadUnavailable, build_keypad

    try:
        return build_keypad(settings)
    except KeypadUnavailable as exc:
        raise click.ClickException(str(exc)) from exc


@kiosk.command("run")
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True, help="kiosk TOML")
def run(config_path: Path) -> None:
    """Issue and print tickets from buttons and the keypad until stopped (SIGTERM, Ctrl-C)."""
    from edge.queue_kiosk.config import KioskConfig
    from edge.queue_kiosk.kiosk import Kiosk
    from edge.runtime.agent import install_signal_handlers

    config = _load(KioskConfig, config_path)
    agent = Kiosk(config, keypad=_keypad(config.keypad))
    stop = threading.Event()
    install_signal_handlers(stop)
    agent.start()
    try:
        stop.wait()
    finally:
        agent.stop()


@kiosk.command("caller")
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True, help="caller TOML")
def caller(config_path: Path) -> None:
    """Run the window caller: the officer's keys in, the hall queue's answers on the console."""
    from edge.queue_kiosk.caller import WindowCaller
    from edge.queue_kiosk.config import CallerConfig
    from edge.runtime.agent import install_signal_handlers

    config = _load(CallerConfig, config_path)
    try:
        config.window  # noqa: B018 - validates that a window is set
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    agent = WindowCaller(config, keypad=_keypad(config.keypad))
    stop = threading.Event()
    install_signal_handlers(stop)
    agent.start()
    try:
        stop.wait()
    finally:
        agent.stop()


@kiosk.command("display")
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True,
              help="any agent TOML of the hall: its [device] and [broker] are used")
def display(config_path: Path) -> None:
    """Print every call of the hall as a display would show it (and a voice box would say it)."""
    import tomllib

    from edge.queue_kiosk.display import CallDisplay
    from edge.runtime.agent import AgentConfig, install_signal_handlers

    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise click.ClickException(f"{config_path}: {exc}") from exc
    try:
        config = AgentConfig.model_validate({k: raw[k] for k in ("device", "broker") if k in raw})
    except ValueError as exc:
        raise click.ClickException(f"{config_path}: {exc}") from exc
    screen = CallDisplay(config.broker, config.device.hall, f"{config.device.id}-display",
                         show=lambda line: click.echo(line))
    stop = threading.Event()
    install_signal_handlers(stop)
    screen.start()
    try:
        stop.wait()
    finally:
        screen.stop()


@kiosk.command("selftest")
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True, help="kiosk TOML")
@click.option("--print", "print_sample", is_flag=True, help="also print a sample ticket (spends no number)")
@click.option("--offline", is_flag=True, help="only the kiosk's own checks: no broker login, no gateway")
def selftest(config_path: Path, print_sample: bool, offline: bool) -> None:
    """Check configuration, storage, printer and fonts, then the broker login and the round trip
    to the gateway, which makes a provisioned kiosk active; exit 1 on any failure."""
    from edge.queue_kiosk.config import KioskConfig
    from edge.queue_kiosk.selftest import run_selftest

    config = _load(KioskConfig, config_path)
    checks = run_selftest(config, print_sample=print_sample)
    for check in checks:
        mark = "ok  " if check.ok else ("warn" if check.warning else "FAIL")
        click.echo(f"[{mark}] {check.name}: {check.detail}")
    failed = any(not c.ok and not c.warning for c in checks)
    if not offline:
        from edge.runtime.selftest import checks_as_steps
        from edge.runtime.selftest import run_selftest as run_with_gateway

        steps = checks_as_steps((c.name, c.ok or c.warning, c.detail) for c in checks)
        failed = not run_with_gateway(config, steps, out=click.echo).passed
    if failed:
        sys.exit(1)


@kiosk.command("diagnostics")
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True, help="kiosk TOML")
def diagnostics(config_path: Path) -> None:
    """Print a redacted snapshot of the kiosk's state (store, outbox, printer) without connecting upstream."""
    from edge.queue_kiosk.config import KioskConfig
    from edge.queue_kiosk.selftest import snapshot

    config = _load(KioskConfig, config_path)
    click.echo(json.dumps(snapshot(config), indent=2, ensure_ascii=False))
