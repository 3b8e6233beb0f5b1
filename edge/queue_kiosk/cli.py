"""`hall kiosk ...`: run and check the kiosk agent."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from edge.runtime.cli import CONFIG_PATH, TRIAL, load_agent_config, open_hardware, open_keypad
from spine.service import run_until_signal


@click.group(name="kiosk")
def kiosk() -> None:
    """The queue kiosk agent."""


@kiosk.command("run")
@click.option("--config", "config_path", type=CONFIG_PATH, help="kiosk TOML" + TRIAL)
def run(config_path: Path | None) -> None:
    """Issue and print tickets from buttons and the keypad until stopped (SIGTERM, Ctrl-C)."""
    from edge.queue_kiosk.config import KioskConfig
    from edge.queue_kiosk.kiosk import Kiosk

    config = load_agent_config(KioskConfig, config_path)
    keypad = open_keypad(config.keypad)
    run_until_signal(lambda: open_hardware(lambda: Kiosk(config, keypad=keypad)))


@kiosk.command("selftest")
@click.option("--config", "config_path", type=CONFIG_PATH, help="kiosk TOML" + TRIAL)
@click.option("--print", "print_sample", is_flag=True, help="also print a sample ticket (spends no number)")
@click.option("--offline", is_flag=True, help="only the kiosk's own checks: no broker login, no gateway")
def selftest(config_path: Path | None, print_sample: bool, offline: bool) -> None:
    """Check configuration, storage, printer and fonts, then the broker login and the round trip
    to the gateway, which makes a provisioned kiosk active; exit 1 on any failure."""
    from edge.queue_kiosk.config import KioskConfig
    from edge.queue_kiosk.selftest import selftest_steps
    from edge.runtime.selftest import run_selftest

    config = load_agent_config(KioskConfig, config_path)
    report = run_selftest(config, selftest_steps(config, print_sample=print_sample), out=click.echo,
                          offline=offline)
    if not report.passed:
        sys.exit(1)


@kiosk.command("diagnostics")
@click.option("--config", "config_path", type=CONFIG_PATH, help="kiosk TOML" + TRIAL)
def diagnostics(config_path: Path | None) -> None:
    """Print a redacted snapshot of the kiosk's state (store, outbox, printer) without connecting upstream."""
    from edge.queue_kiosk.config import KioskConfig
    from edge.queue_kiosk.selftest import snapshot

    config = load_agent_config(KioskConfig, config_path)
    click.echo(json.dumps(snapshot(config), indent=2, ensure_ascii=False))
