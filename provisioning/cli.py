"""`hall provision ...`: the technician's tool.

Secrets are handed over once: a device password only ever goes into its
bundle, an enrolment code is printed once, here, and nowhere else.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from provisioning.bundle import Layout, install_bundle
from provisioning.enrolment import EnrolmentError
from provisioning.home import DEFAULT_HOME, Home
from provisioning.model import DeviceKind, DeviceState
from provisioning.registry import RegistryError
from provisioning.syncconfig import load_sync
from provisioning.workflow import Delivery, Handover, Provisioner
from spine.files import IncompleteBundle, write_directory_atomic

HALL_ZONE = ZoneInfo("Asia/Shanghai")
"""Every hall in the brief is in China: audit times read like the tickets (see hallwatch.logsetup)."""

log = logging.getLogger(__name__)

TECHNICIAN_ENV = "HALLWATCH_TECHNICIAN"


@click.group(name="provision")
@click.option("--home", type=click.Path(path_type=Path), default=DEFAULT_HOME, show_default=True,
              envvar="HALLWATCH_PROVISIONING_HOME", help="the registry and the halls' CAs (central)")
@click.pass_context
def provision(ctx: click.Context, home: Path) -> None:
    """Provision halls, windows and devices."""
    ctx.obj = home


@contextmanager
def _open(ctx: click.Context, layout: Layout | None = None) -> Iterator[Provisioner]:
    """The registry in the home given to `hall provision --home`, with the configured sync."""
    home = Home(ctx.obj if isinstance(ctx.obj, Path) else DEFAULT_HOME)
    provisioner = Provisioner(home, layout=layout, sync=load_sync(home))
    try:
        yield provisioner
    except (RegistryError, EnrolmentError, IncompleteBundle) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        provisioner.close()


by_option = click.option("--by", envvar=TECHNICIAN_ENV, help="the technician doing this (recorded)")


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


# --- halls ------------------------------------------------------------------


@provision.group("hall")
def hall_group() -> None:
    """Halls: create, list, show, sync to the gateway."""


@hall_group.command("create")
@click.argument("hall")
@click.option("--name", required=True)
@click.option("--gateway", "gateway_id", required=True, help="the hall gateway's id, e.g. gw-hall-01")
@click.option("--host", "hosts", multiple=True, required=True,
              help="name or address devices use to reach the gateway (repeat for each)")
@click.option("--port", default=8883, show_default=True, help="the gateway broker's TLS port")
@click.option("--window", "windows", multiple=True, help="window ids to create with the hall")
@by_option
@click.pass_context
def hall_create(ctx: click.Context, hall: str, name: str, gateway_id: str, hosts: tuple[str, ...], port: int,
                windows: tuple[str, ...], by: str | None) -> None:
    """Create a hall, its CA and its broker certificate (and its windows)."""
    with _open(ctx) as p:
        created = p.create_hall(hall, name, gateway_id, list(hosts), port, by=by or _user())
        if windows:
            p.add_windows(hall, [(w, w, None) for w in windows], by=by or _user())
        click.echo(f"hall {created.id} created; gateway {created.gateway}; CA fingerprint "
                   f"{p.home.hall_ca(hall).fingerprint()}")


@hall_group.command("list")
@click.pass_context
def hall_list(ctx: click.Context) -> None:
    with _open(ctx) as p:
        for h in p.registry.halls():
            devices = p.registry.devices(h.id)
            click.echo(f"{h.id}\t{h.name}\tgateway {h.gateway}\t{len(devices)} device(s)")


@hall_group.command("show")
@click.argument("hall")
@click.pass_context
def hall_show(ctx: click.Context, hall: str) -> None:
    with _open(ctx) as p:
        info = p.registry.hall(hall)
        _echo_json({
            "hall": info.id, "name": info.name, "gateway": info.gateway, "hosts": info.broker_hosts,
            "port": info.broker_port, "registry_version": p.registry.sync_version(hall),
            "departments": dict(p.registry.departments(hall)),
            "windows": [{"id": w.id, "name": w.name, "department": w.department}
                        for w in p.registry.windows(hall)],
            "officers": p.registry.officers(hall),
            "devices": {d.id: d.state.value for d in p.registry.devices(hall)},
        })


@hall_group.command("sync")
@click.argument("hall")
@click.pass_context
def hall_sync(ctx: click.Context, hall: str) -> None:
    """Send the hall's registry to its gateway again."""
    with _open(ctx) as p:
        if p.sync is None:
            raise click.ClickException(f"no sync configured in {p.home.root}/sync.toml; "
                                       "carry 'hall provision hall state' to the gateway instead")
        if not p.sync_hall(hall):
            raise click.ClickException("the gateway could not be reached; the registry is unchanged")
        click.echo(f"registry version {p.registry.sync_version(hall)} sent to {hall}")


@hall_group.command("state")
@click.argument("hall")
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.pass_context
def hall_state(ctx: click.Context, hall: str, out: Path) -> None:
    """Write the hall's registry for its gateway (`hall gateway apply-registry` there)."""
    from provisioning.hallstate import build_hall_state
    from spine.files import write_file_atomic

    with _open(ctx) as p:
        state = build_hall_state(p.registry, hall)
        write_file_atomic(out, state.model_dump_json().encode(), secret=True)
        click.echo(f"registry version {state.version} of {hall} written to {out}")


# --- departments, windows, people ---------------------------------------------


@provision.command("department")
@click.argument("hall")
@click.argument("department")
@click.option("--name", required=True)
@by_option
@click.pass_context
def department(ctx: click.Context, hall: str, department: str, name: str, by: str | None) -> None:
    """Add or rename a department (a unit whose performance ratings count toward)."""
    with _open(ctx) as p, p.registry.transaction() as tx:
        p.registry.hall(hall)
        p.registry.add_department(tx, hall, department, name)
        p.registry.audit(tx, by or _user(), "department.set", f"{hall}/{department}", name=name)
    click.echo(f"department {department} ({name}) set in {hall}; next: "
               f"'hall provision window {hall} W01 --department {department}'")


@provision.command("window")
@click.argument("hall")
@click.argument("windows", nargs=-1, required=True)
@click.option("--name", help="display name (default: the id)")
@click.option("--department")
@by_option
@click.pass_context
def window(ctx: click.Context, hall: str, windows: tuple[str, ...], name: str | None,
           department: str | None, by: str | None) -> None:
    """Add or change windows of a hall."""
    with _open(ctx) as p:
        p.add_windows(hall, [(w, name or w, department) for w in windows], by=by or _user())
        click.echo(f"{len(windows)} window(s) set in {hall}")


@provision.command("officer")
@click.argument("officer")
@click.option("--name", required=True)
@click.option("--hall", required=True)
@click.option("--department")
@click.option("--window")
@by_option
@click.pass_context
def officer(ctx: click.Context, officer: str, name: str, hall: str, department: str | None,
            window: str | None, by: str | None) -> None:
    """Add or change a window officer (ratings are credited to them)."""
    with _open(ctx) as p, p.registry.transaction() as tx:
        p.registry.hall(hall)
        p.registry.add_officer(tx, officer, name, hall, department, window)
        p.registry.audit(tx, by or _user(), "officer.set", officer, hall=hall, window=window)
    where = f" at window {window}" if window else ""
    click.echo(f"officer {officer} ({name}) set in {hall}{where}; ratings at their window are credited "
               "to them once the hall's registry reaches the gateway")


@provision.command("technician")
@click.argument("technician")
@click.option("--name", required=True)
@click.option("--hall", "halls", multiple=True, required=True, help="a hall id, or '*' for all")
@click.option("--may-reprovision", is_flag=True, help="may re-provision and replace devices")
@click.pass_context
def technician(ctx: click.Context, technician: str, name: str, halls: tuple[str, ...],
               may_reprovision: bool) -> None:
    """Register a technician (whoever may write the registry file may do this)."""
    with _open(ctx) as p, p.registry.transaction() as tx:
        p.registry.add_technician(tx, technician, name, list(halls), may_reprovision)
        p.registry.audit(tx, _user(), "technician.set", technician, halls=list(halls),
                         may_reprovision=may_reprovision)
    rights = " (may re-provision and replace devices)" if may_reprovision else ""
    click.echo(f"technician {technician} ({name}) registered for {', '.join(halls)}{rights}; "
               f"they sign their work with --by {technician} or HALLWATCH_TECHNICIAN={technician}")


# --- devices ----------------------------------------------------------------


@provision.group("device")
def device_group() -> None:
    """Devices: add, list, show, re-provision, replace, rotate, configure, retire."""


def delivery_options(func: Any) -> Any:
    """How the bundle is handed over and where the device installs it: the options, given to
    `func` as `delivery` (a Delivery) and `layout` (a Layout)."""

    @functools.wraps(func)
    def with_delivery(*args: Any, to: Path | None, enrol: bool, ttl: int, client_cert: bool, layout_etc: Path,
                      layout_var: Path, **kwargs: Any) -> Any:
        if (to is None) == (not enrol):
            raise click.UsageError("give either --to DIR or --enrol")
        delivery = Delivery(directory=to, enrol=enrol, enrol_ttl_s=ttl * 60, client_cert=client_cert)
        return func(*args, delivery=delivery, layout=Layout(layout_etc, layout_var), **kwargs)

    for option in reversed([
        click.option("--to", "to", type=click.Path(path_type=Path),
                     help="write the bundle here, e.g. on the Pi's boot partition"),
        click.option("--enrol", is_flag=True, help="seal the bundle for a one-time enrolment code instead"),
        click.option("--ttl", default=30, show_default=True, help="minutes an enrolment code stays valid"),
        click.option("--client-cert", is_flag=True, help="also issue a TLS client certificate"),
        click.option("--layout-etc", type=click.Path(path_type=Path), default=Path("/etc/hallwatch"),
                     show_default=True, help="where the installed device keeps its configuration"),
        click.option("--layout-var", type=click.Path(path_type=Path), default=Path("/var/lib/hallwatch"),
                     show_default=True, help="where the installed device keeps its state and secret"),
    ]):
        with_delivery = option(with_delivery)
    return with_delivery


def _hand_over(p: Provisioner, handover: Handover) -> None:
    d = handover.device
    click.echo(f"{handover.action}: {d.id} ({d.kind.value}, hall {d.hall}"
               f"{', window ' + d.window if d.window else ''}) is {d.state.value}")
    if handover.bundle_dir is not None:
        click.echo(f"  bundle written to {handover.bundle_dir} (complete; checked by its manifest)")
    if handover.enrolment_code is not None:
        # The one moment this secret is shown: it is not logged, and not stored in clear.
        click.echo(f"  enrolment code: {handover.enrolment_code}  (valid {_minutes(handover)} min, once)")
    if handover.label is not None:
        click.echo(f"  label: {handover.label}")
    if handover.synced:
        click.echo("  gateway updated")
    elif p.sync is None:
        # No route to the gateway from here (no sync.toml): the technician carries the registry.
        click.echo(f"  gateway NOT updated: carry the registry there: 'hall provision hall state {d.hall} "
                   "--out FILE', then on the gateway 'hall gateway apply-registry FILE'")
    else:
        click.echo(f"  gateway NOT updated yet: run 'hall provision hall sync {d.hall}'")
    click.echo("  next: boot the Pi, then run its selftest; it becomes active when the gateway sees it pass")


def _minutes(handover: Handover) -> int:
    from provisioning.registry import now_ms

    return max(0, round(((handover.enrolment_expires_at or 0) - now_ms()) / 60000))


def _hardware(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    text = Path(value[1:]).read_text() if value.startswith("@") else value
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--hardware") from exc
    if not isinstance(parsed, dict):
        raise click.BadParameter("a JSON object, e.g. '{\"printer\": \"usb\"}'", param_hint="--hardware")
    return parsed


def handover_command(name: str, *params: Any) -> Any:
    """A device command that hands a bundle over: its own `params`, then the delivery options and
    --by; the function gets the click context first and `delivery`, `layout`, `by` as keywords."""

    def register(func: Any) -> Any:
        command = delivery_options(by_option(click.pass_context(func)))
        for param in reversed(params):
            command = param(command)
        return device_group.command(name)(command)

    return register


@handover_command(
    "add",
    click.argument("hall"),
    click.option("--kind", type=click.Choice([k.value for k in DeviceKind]), required=True),
    click.option("--window"),
    click.option("--serial", help="the hardware's serial (board serial, sticker); one device per serial"),
    click.option("--hardware", help="JSON or @file: pins, printer, keypad adapter, cameras"),
)
def device_add(ctx: click.Context, hall: str, kind: str, window: str | None, serial: str | None,
               hardware: str | None, delivery: Delivery, layout: Layout, by: str | None) -> None:
    """Register and provision a new device: id, label, credentials, bundle."""
    with _open(ctx, layout) as p:
        _hand_over(p, p.add_device(hall, DeviceKind(kind), delivery, by=by, window=window, serial=serial,
                                   hardware=_hardware(hardware)))


@handover_command("reprovision", click.argument("device"))
def device_reprovision(ctx: click.Context, device: str, delivery: Delivery, layout: Layout,
                       by: str | None) -> None:
    """Set a known device up again (factory reset, new card): new secret, self-test again."""
    with _open(ctx, layout) as p:
        _hand_over(p, p.reprovision(device, delivery, by=by))


@handover_command("replace", click.argument("device"),
                  click.option("--serial", required=True, help="the serial of the new hardware"))
def device_replace(ctx: click.Context, device: str, serial: str, delivery: Delivery, layout: Layout,
                   by: str | None) -> None:
    """New hardware takes over DEVICE's role and id; the old hardware's credentials die."""
    with _open(ctx, layout) as p:
        _hand_over(p, p.replace(device, serial, delivery, by=by))


@handover_command("rotate", click.argument("device"))
def rotate(ctx: click.Context, device: str, delivery: Delivery, layout: Layout, by: str | None) -> None:
    """A new secret for the same hardware; the old one stops working at the gateway's next sync."""
    with _open(ctx, layout) as p:
        _hand_over(p, p.rotate(device, delivery, by=by))


@device_group.command("retire")
@click.argument("device")
@click.option("--reason", required=True)
@by_option
@click.pass_context
def device_retire(ctx: click.Context, device: str, reason: str, by: str | None) -> None:
    """Retire a device: its login is removed and the broker drops it; its id is never reused."""
    with _open(ctx) as p:
        retired = p.retire(device, by=by, reason=reason)
        click.echo(f"{retired.id} retired")


@device_group.command("configure")
@click.argument("device")
@click.option("--window")
@click.option("--hardware", help="JSON or @file; replaces the hardware settings")
@by_option
@click.pass_context
def device_configure(ctx: click.Context, device: str, window: str | None, hardware: str | None,
                     by: str | None) -> None:
    """Move a device to another window or change its hardware settings (a new config version)."""
    with _open(ctx) as p:
        changed = p.configure(device, by=by, window=window, hardware=_hardware(hardware))
        click.echo(f"{changed.id}: configuration version {changed.config_version}")


@device_group.command("list")
@click.option("--hall")
@click.option("--state", type=click.Choice([s.value for s in DeviceState]))
@click.pass_context
def device_list(ctx: click.Context, hall: str | None, state: str | None) -> None:
    with _open(ctx) as p:
        for d in p.registry.devices(hall, DeviceState(state) if state else None):
            click.echo(f"{d.id}\t{d.state.value}\t{d.kind.value}\t{d.hall}\t{d.window or '-'}\t"
                       f"{d.serial or '-'}")


@device_group.command("show")
@click.argument("device")
@click.pass_context
def device_show(ctx: click.Context, device: str) -> None:
    """A device's record and its history (no secrets: the registry holds none)."""
    with _open(ctx) as p:
        history = [{**entry, "at": _wall_time(entry["at"])} for entry in p.registry.audit_log(device)]
        _echo_json({**p.registry.device(device).describe(), "history": history})


def _wall_time(ms: int) -> str:
    """An audit time as a technician reads it: the hall's wall time with its offset, not epoch ms."""
    return datetime.fromtimestamp(ms / 1000, HALL_ZONE).isoformat(timespec="seconds")


@device_group.command("label")
@click.argument("device")
@click.option("--out", type=click.Path(path_type=Path), help="directory for the PNG")
@click.pass_context
def device_label(ctx: click.Context, device: str, out: Path | None) -> None:
    """Print the device's label again (id and QR code)."""
    from provisioning.label import write_label

    with _open(ctx) as p:
        click.echo(write_label(p.registry.device(device), out or p.labels_dir))


# --- gateway and central ------------------------------------------------------


@provision.group("gateway")
def gateway_group() -> None:
    """The hall gateway's own bundle (on the gateway itself: `hall gateway ...`)."""


@gateway_group.command("bundle")
@click.argument("hall")
@click.option("--to", type=click.Path(path_type=Path), required=True)
@click.option("--central-host", required=True)
@click.option("--central-port", default=8883, show_default=True)
@click.option("--layout-etc", type=click.Path(path_type=Path), default=Path("/etc/hallwatch"))
@click.option("--layout-var", type=click.Path(path_type=Path), default=Path("/var/lib/hallwatch"))
@by_option
@click.pass_context
def gateway_bundle_command(ctx: click.Context, hall: str, to: Path, central_host: str, central_port: int,
                           layout_etc: Path, layout_var: Path, by: str | None) -> None:
    """Write the gateway's bundle (new gateway logins: the previous gateway's stop working)."""
    from provisioning.services import CentralEndpoint, gateway_bundle

    with _open(ctx) as p:
        actor = p.registry.authorise(by, hall, reprovision=True)
        files = gateway_bundle(p, hall, CentralEndpoint(central_host, central_port), by=actor,
                               layout=Layout(layout_etc, layout_var))
        write_directory_atomic(to, files)
        click.echo(f"gateway bundle for {hall} written to {to}; on the gateway: hall provision install DIR")
        click.echo("central's broker needs the gateway's new login: run 'hall provision central apply'")


@provision.group("central")
def central_group() -> None:
    """Central's broker: its bundle, and its logins after a gateway bundle."""


@central_group.command("bundle")
@click.option("--to", type=click.Path(path_type=Path), required=True)
@click.option("--host", "hosts", multiple=True, required=True, help="names gateways use to reach central")
@click.option("--port", default=8883, show_default=True)
@click.option("--layout-etc", type=click.Path(path_type=Path), default=Path("/etc/hallwatch"))
@click.option("--layout-var", type=click.Path(path_type=Path), default=Path("/var/lib/hallwatch"))
@click.pass_context
def central_bundle_command(ctx: click.Context, to: Path, hosts: tuple[str, ...], port: int,
                           layout_etc: Path, layout_var: Path) -> None:
    """Central's broker files and login; also this tool's own login for pushing registries."""
    from provisioning.services import central_bundle

    with _open(ctx) as p:
        files = central_bundle(p, list(hosts), by=_user(), port=port, layout=Layout(layout_etc, layout_var))
        write_directory_atomic(to, files)
        click.echo(f"central bundle written to {to}; install it with 'hall provision install {to}'")


@central_group.command("apply")
@click.option("--broker-dir", type=click.Path(path_type=Path), default=Path("/var/lib/hallwatch/broker"))
@click.option("--reload", "reload_spec", default="systemd:hallwatch-broker.service", show_default=True)
@click.pass_context
def central_apply(ctx: click.Context, broker_dir: Path, reload_spec: str) -> None:
    """On central: rewrite central's broker logins from the registry and reload it."""
    from provisioning.hallstate import central_accounts
    from spine.broker.security import reloader, write_access_files

    try:
        reload = reloader(reload_spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--reload") from exc
    with _open(ctx) as p:
        accounts = central_accounts(p.registry)
        write_access_files(broker_dir, accounts)
        reload()
        click.echo(f"central's broker: {len(accounts)} login(s)")


# --- on the Pi -----------------------------------------------------------------


@provision.command("install")
@click.argument("bundle_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--keep-secrets", is_flag=True, help="leave the secrets in the bundle (tests only)")
@click.option("--enable", is_flag=True, help="then enable and start the role's systemd units")
def install(bundle_dir: Path, keep_secrets: bool, enable: bool) -> None:
    """On the Pi: install a bundle (whole or not at all) and wipe its secrets from the card."""
    import subprocess

    try:
        installed = install_bundle(bundle_dir, wipe_secrets=not keep_secrets)
    except IncompleteBundle as exc:
        raise click.ClickException(f"{exc}. Write the bundle again; nothing was installed") from exc
    click.echo(f"installed {installed.device}: configuration {installed.config}")
    if enable:
        subprocess.run(["systemctl", "enable", "--now", *installed.units], check=True)
        click.echo(f"started {' '.join(installed.units)}")
    else:
        click.echo(f"to run it: systemctl enable --now {' '.join(installed.units)}")


@provision.command("fetch")
@click.argument("url")
@click.option("--to", type=click.Path(path_type=Path), required=True, help="where to write the bundle")
@click.option("--code", prompt="enrolment code", hide_input=True, help="prompted for when omitted")
def fetch(url: str, to: Path, code: str) -> None:
    """On the Pi: fetch this device's bundle once with its enrolment code."""
    from provisioning.enrolment import fetch_bundle

    try:
        files = fetch_bundle(url, code)
    except EnrolmentError as exc:
        raise click.ClickException(str(exc)) from exc
    write_directory_atomic(to, files)
    click.echo(f"bundle written to {to}; now: hall provision install {to}")


@provision.command("enrolment-server")
@click.option("--bind", default="0.0.0.0", show_default=True)
@click.option("--port", default=8442, show_default=True)
@click.pass_context
def enrolment_server(ctx: click.Context, bind: str, port: int) -> None:
    """Serve sealed bundles to Pis that know their enrolment code."""
    from provisioning.enrolserver import make_server

    with _open(ctx) as p:
        server = make_server(p, bind, port)
        click.echo(f"enrolment server on {bind}:{port}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


@provision.command("backup")
@click.argument("databases", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--to", type=click.Path(path_type=Path), required=True, help="backup directory (USB disk)")
@click.option("--keep", default=14, show_default=True, type=click.IntRange(min=1),
              help="copies of each file to keep (at least 1)")
def backup(databases: tuple[Path, ...], to: Path, keep: int) -> None:
    """Consistent copies of running SQLite files (gateway store, central, registry)."""
    from provisioning.backup import BackupFailed, backup_database

    failed = 0
    for database in databases:
        try:
            click.echo(backup_database(database, to, keep=keep))
        except (BackupFailed, sqlite3.Error) as exc:
            failed += 1
            click.echo(f"{database}: backup FAILED: {exc}", err=True)
    if failed:
        raise click.ClickException(f"{failed} backup(s) failed")


def _user() -> str:
    return os.environ.get(TECHNICIAN_ENV) or os.environ.get("USER") or f"uid-{os.getuid()}"

