"""`hall recorder ...`: run and check the recorder agent."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from edge.camera_recorder.config import RecorderConfig
from spine.config import ConfigError, load_config

if TYPE_CHECKING:  # imported when a command runs, so `hall --help` stays quick
    from edge.camera_recorder.index import FootageIndex

log = logging.getLogger(__name__)

CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="the recorder's TOML file (see docs/recorder.md); without it, a one-machine trial (examples/)",
)


def _load(config_path: Path | None) -> RecorderConfig:
    try:
        return load_config(RecorderConfig, config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def _index(config: RecorderConfig) -> Iterator[FootageIndex]:
    from edge.camera_recorder.index import FootageIndex

    index = FootageIndex(config.index_path)
    try:
        yield index
    finally:
        index.close()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


@click.group(name="recorder")
def recorder() -> None:
    """The recorder agent: cameras into a 30-day ring buffer, holds and evidence exports."""


@recorder.command("run")
@CONFIG_OPTION
def run(config_path: Path | None) -> None:
    """Record every camera until SIGTERM/SIGINT; forward events when the gateway is there."""
    from edge.camera_recorder.agent import RecorderAgent
    from spine.service import run_until_signal

    config = _load(config_path)
    if not config.cameras:
        raise click.ClickException(f"{config_path}: no [[cameras]] configured")
    log.info("recording %d camera(s) into %s", len(config.cameras), config.storage_dir)
    run_until_signal(lambda: RecorderAgent(config))


@recorder.command("selftest")
@CONFIG_OPTION
@click.option("--snapshots", type=click.Path(path_type=Path), help="where to keep the snapshots")
@click.option("--timeout", default=15.0, show_default=True, help="seconds per camera")
@click.option("--offline", is_flag=True, help="only the recorder's own checks: no broker login, no gateway")
def selftest(config_path: Path | None, snapshots: Path | None, timeout: float, offline: bool) -> None:
    """Probe every camera with a snapshot and check the disk, then the broker login and the round
    trip to the gateway, which makes a provisioned recorder active; exit 1 on any failure."""
    from edge.camera_recorder.selftest import run_selftest as camera_checks
    from edge.runtime.selftest import checks_as_steps, run_selftest

    config = _load(config_path)
    checks = camera_checks(config, snapshot_dir=snapshots, timeout_s=timeout)
    steps = checks_as_steps((c.name, c.ok, c.detail) for c in checks)
    # One line per step, from the shared runner, as every agent's self-test prints them.
    if not run_selftest(config, steps, out=click.echo, offline=offline).passed:
        raise SystemExit(1)


@recorder.group("hold")
def hold() -> None:
    """Keep footage for a complaint past retention (never pruned while held)."""


@hold.command("place")
@CONFIG_OPTION
@click.option("--camera", help="the camera to hold (or --window)")
@click.option("--window", help="hold every camera covering this service window")
@click.option("--from", "start", required=True, help="ISO 8601 (local time if no offset) or ms")
@click.option("--to", "end", required=True, help="ISO 8601 (local time if no offset) or ms")
@click.option("--until", required=True, help="when the hold ends, e.g. +180d or an ISO time")
@click.option("--who", required=True, help="who places the hold")
@click.option("--why", required=True, help="the complaint or case it is for")
@click.option("--id", "hold_id", help="a hold id of your own (idempotent)")
def hold_place(
    config_path: Path | None,
    camera: str | None,
    window: str | None,
    start: str,
    end: str,
    until: str,
    who: str,
    why: str,
    hold_id: str | None,
) -> None:
    """Place a hold; the running recorder reports it upstream."""
    from pydantic import ValidationError

    from edge.camera_recorder.holds import HoldRefused, HoldRequest, place_holds
    from edge.camera_recorder.times import iso

    config = _load(config_path)
    try:
        request = HoldRequest.model_validate(
            {"hold_id": hold_id, "camera": camera, "window": window, "from": start, "to": end,
             "until": until, "who": who, "why": why}
        )
        with _index(config) as index:
            placed = place_holds(index, config, request, now_ms=_now_ms(), source="cli")
    except (ValidationError, HoldRefused, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    for item in placed:
        click.echo(
            f"{'placed' if item.new else 'already placed'} hold {item.hold.id} on "
            f"{item.hold.camera} {iso(item.hold.start_ms)}..{iso(item.hold.end_ms)} until "
            f"{iso(item.hold.until_ms)}: {item.segments} segment(s), {item.bytes} bytes held"
        )
        for gap in item.gaps:
            click.echo(f"  no footage {iso(gap.start_ms)}..{iso(gap.end_ms)}: {gap.cause}")


@hold.command("list")
@CONFIG_OPTION
@click.option("--all", "show_all", is_flag=True, help="released and expired holds too")
def hold_list(config_path: Path | None, show_all: bool) -> None:
    """List holds."""
    from edge.camera_recorder.times import iso

    config = _load(config_path)
    with _index(config) as index:
        rows = [
            {"hold_id": h.id, "camera": h.camera, "state": h.state, "from": iso(h.start_ms),
             "to": iso(h.end_ms), "until": iso(h.until_ms), "who": h.who, "why": h.why,
             "source": h.source, "held": index.holds.held_in(h)}
            for h in index.holds.all(active_only=not show_all)
            if not h.guards_an_export
        ]
    _echo_json(rows)


@hold.command("release")
@CONFIG_OPTION
@click.argument("hold_id")
@click.option("--who", required=True)
@click.option("--why", required=True)
def hold_release(config_path: Path | None, hold_id: str, who: str, why: str) -> None:
    """Release a hold early; its footage falls back under retention."""
    from edge.camera_recorder.holds import HoldRefused, ReleaseRequest, release_hold

    config = _load(config_path)
    try:
        with _index(config) as index:
            released = release_hold(
                index.holds, ReleaseRequest(hold_id=hold_id, who=who, why=why), now_ms=_now_ms()
            )
    except HoldRefused as exc:
        raise click.ClickException(str(exc)) from exc
    for item in released:
        click.echo(f"released hold {item.id} on {item.camera}")


@recorder.command("export")
@CONFIG_OPTION
@click.option("--camera", required=True)
@click.option("--from", "start", required=True, help="ISO 8601 (local time if no offset) or ms")
@click.option("--to", "end", required=True, help="ISO 8601 (local time if no offset) or ms")
@click.option("--who", required=True, help="who exports (recorded in the manifest)")
@click.option("--why", required=True, help="the complaint or case it is for")
@click.option("--out", type=click.Path(path_type=Path), help="clip path (default: export_dir)")
@click.option("--format", "container", type=click.Choice(["mp4", "mkv", "ts"]))
def export(
    config_path: Path | None,
    camera: str,
    start: str,
    end: str,
    who: str,
    why: str,
    out: Path | None,
    container: str | None,
) -> None:
    """Export a clip by stream copy, with a SHA-256 manifest recorded in the index."""
    from edge.camera_recorder.export import ExportFailed, NoFootage, export_clip
    from edge.camera_recorder.times import parse_instant

    config = _load(config_path)
    now = _now_ms()
    try:
        with _index(config) as index:
            result = export_clip(
                index,
                storage_dir=config.storage_dir,
                export_dir=config.export_dir,
                camera=camera,
                start_ms=parse_instant(start, now_ms=now),
                end_ms=parse_instant(end, now_ms=now),
                who=who,
                why=why,
                now_ms=now,
                device=config.device.id,
                hall=config.device.hall,
                ffmpeg=config.recorder.ffmpeg,
                ffprobe=config.recorder.ffprobe,
                container=container or config.recorder.export_format,
                out=out,
            )
    except (NoFootage, ExportFailed, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"clip      {result.clip}")
    click.echo(f"manifest  {result.manifest_path}")
    click.echo(f"sha256    {result.manifest['clip']['sha256']}")
    for gap in result.manifest["gaps"]:
        click.echo(f"gap       {gap['start_ms']}..{gap['end_ms']}: {gap['cause']}")


@recorder.command("verify")
@click.argument("manifest", type=click.Path(path_type=Path, exists=True))
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="also check against this recorder's index and source segments")
@click.option("--clip", type=click.Path(path_type=Path), help="the clip, if moved elsewhere")
def verify(manifest: Path, config_path: Path | None, clip: Path | None) -> None:
    """Prove a clip unchanged since export; exit 1 if anything differs."""
    from edge.camera_recorder.export import verify_export

    if config_path is None:
        result = verify_export(manifest, clip=clip)
    else:
        config = _load(config_path)
        with _index(config) as index:
            result = verify_export(
                manifest, index=index, storage_dir=config.storage_dir, clip=clip
            )
    for note in result.notes:
        click.echo(f"note: {note}")
    for problem in result.problems:
        click.echo(f"FAILED: {problem}")
    if not result.ok:
        raise SystemExit(1)
    click.echo("OK: the clip matches its manifest" + (" and the index" if config_path else ""))


@recorder.command("timeline")
@CONFIG_OPTION
@click.option("--camera", required=True)
@click.option("--from", "start", required=True)
@click.option("--to", "end", required=True)
def timeline(config_path: Path | None, camera: str, start: str, end: str) -> None:
    """What exists for a camera and range: footage, and each gap with its cause."""
    from edge.camera_recorder.times import iso, parse_instant

    config = _load(config_path)
    now = _now_ms()
    start_ms, end_ms = parse_instant(start, now_ms=now), parse_instant(end, now_ms=now)
    with _index(config) as index:
        items = [
            (s.start_ms, s.end_ms, "footage" + (" (held)" if s.held else ""), s.path)
            for s in index.segments.between(camera, start_ms, end_ms)
        ] + [
            (g.start_ms, g.end_ms or now, f"gap: {g.cause}", g.detail or "")
            for g in index.gaps.between(camera, start_ms, end_ms)
        ]
    for begin, finish, what, detail in sorted(items):
        click.echo(f"{iso(begin)}  {iso(finish)}  {what:<22} {detail}")


@recorder.command("diagnostics")
@CONFIG_OPTION
def diagnostics(config_path: Path | None) -> None:
    """Print a redacted snapshot: cameras, disk, alarms, holds, outbox."""
    from edge.camera_recorder.diagnostics import recorder_diagnostics

    config = _load(config_path)
    with _index(config) as index:
        _echo_json(recorder_diagnostics(config, index, _now_ms()))


@recorder.command("commands-schema")
def commands_schema() -> None:
    """Print the JSON schema of the MQTT commands the recorder accepts."""
    from edge.camera_recorder.commands import command_schema

    _echo_json(command_schema())
