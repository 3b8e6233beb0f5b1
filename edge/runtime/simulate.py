"""`hall device ...`: the simulated device used by the demo, the tests and the benchmarks."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import click

from edge.runtime.agent import AgentConfig, EdgeAgent
from spine.config import ConfigError, load_config
from spine.outbox import OutboxFull
from spine.service import run_until_signal

log = logging.getLogger(__name__)

ROOM_RETRY_S = 1.0
"""How often a simulated device on a full disk tries its next event again."""


@click.group(name="device")
def device() -> None:
    """Generic edge device commands."""


@device.command("diagnostics")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="agent TOML")
def diagnostics(config_path: Path | None) -> None:
    """Print a redacted snapshot of a device's outbox without connecting anywhere."""
    from spine.outbox import Outbox

    try:
        config = load_config(AgentConfig, config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    outbox = Outbox(config.outbox.path, config.outbox)
    waiting, waiting_bytes = outbox.depth()
    click.echo(
        json.dumps(
            {
                "device": config.device.model_dump(),
                "broker": {
                    "host": config.broker.host,
                    "port": config.broker.port,
                    "username": config.broker.username,
                    "tls": config.broker.tls_ca is not None,
                },
                "outbox": {
                    "path": str(config.outbox.path),
                    "events_waiting": waiting,
                    "bytes_waiting": waiting_bytes,
                    "last_seq": outbox.last_pos,
                    "dropped": outbox.drop_totals(),
                    "unreported": outbox.unreported_drops(),
                    "storage": outbox.check_disk().as_dict(),
                },
            },
            indent=2,
            ensure_ascii=False,
        )
    )


@device.command("schema")
@click.argument("event_type", required=False)
def schema(event_type: str | None) -> None:
    """Print the JSON Schema of one event type's body and who may state it, or list every type."""
    from contract.catalog import all_specs, spec_for
    from contract.registry import UnknownEventType

    if event_type is None:
        for name, spec in sorted(all_specs().items()):
            kind = "essential" if spec.essential else "routine"
            summary = ((spec.body.__doc__ or "").strip().splitlines() or [""])[0]
            click.echo(f"{name:28} {kind:9} {spec.authority.describe():48} {summary}")
        return
    try:
        spec = spec_for(event_type)
    except UnknownEventType as exc:
        raise click.ClickException(str(exc)) from exc
    schema = spec.body.model_json_schema()
    schema["x-authors"] = sorted(author.value for author in spec.authority.authors)
    schema["x-about"] = spec.authority.about.value
    click.echo(json.dumps(schema, indent=2, ensure_ascii=False))


@device.command("simulate")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="agent TOML")
@click.option("--events", default=100, show_default=True, help="numbered events to record in all")
@click.option("--rate", default=0.0, help="events per second; 0 records as fast as the disk allows")
@click.option("--exit-when-drained", is_flag=True, help="stop once every event is acknowledged")
def simulate(config_path: Path | None, events: int, rate: float, exit_when_drained: bool) -> None:
    """Record `sim.counter` events numbered 1..EVENTS and forward them.

    Restart it after a crash and it carries on from the last number it committed:
    the number is the device sequence number, so none is skipped or repeated.
    On a full disk it keeps running (its status says so) and records the next
    number again every second until there is room.
    """
    try:
        config = load_config(AgentConfig, config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    interval = 1.0 / rate if rate > 0 else 0.0

    def record_then_forward(agent: EdgeAgent, stop: threading.Event) -> None:
        waiting_for_room = False
        try:
            while not stop.is_set() and agent.outbox.last_pos < events:
                n = agent.outbox.last_pos + 1
                try:
                    recorded = agent.record("sim.counter", {"n": n})
                except OutboxFull as exc:
                    if not waiting_for_room:
                        waiting_for_room = True
                        log.error("event %d not recorded: %s; trying again every %.0f s",
                                  n, exc, ROOM_RETRY_S)
                    stop.wait(ROOM_RETRY_S)
                    continue
                if waiting_for_room:
                    waiting_for_room = False
                    log.warning("recording again from event %d", n)
                if recorded.seq != n:
                    raise click.ClickException(
                        f"the outbox of {config.device.id} holds other events; use a fresh outbox"
                    )
                if interval:
                    time.sleep(interval)  # pacing a simulated citizen, not waiting for a condition
            log.info("recorded %d events; forwarding", agent.outbox.last_pos)
            while not stop.is_set():
                if exit_when_drained and agent.uplink.drained():
                    break
                stop.wait(0.2)
        finally:
            click.echo(json.dumps(agent.diagnostics()["uplink"]))

    run_until_signal(lambda: EdgeAgent(config), until=record_then_forward)
