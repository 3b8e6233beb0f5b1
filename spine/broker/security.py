"""A hall broker's security: the Mosquitto lines, and the files they point to.

The lines go into `spine.broker.runner.BrokerOptions.extra_lines`. The plain
listener that `render_config` opens (loopback on a gateway) and the TLS
listener for the hall's devices both pin each client id to its username, so
no login can take over another's session.
"""

from __future__ import annotations

import logging
import os
import pwd
import signal
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from spine.broker.access import Account, render_acl, render_password_file
from spine.files import write_file_atomic

log = logging.getLogger(__name__)

PASSWORDS = "passwords"
ACL = "acl"
CA_CERT = "ca.crt"
SERVER_CERT = "server.crt"
SERVER_KEY = "server.key"


@dataclass(frozen=True)
class ListenerPlan:
    """Where the TLS listener for devices listens, and whether it demands client certificates."""

    tls_port: int | None = 8883
    tls_bind: str = "0.0.0.0"
    require_client_cert: bool = False


def security_lines(directory: Path, plan: ListenerPlan, *, run_as: str | None = None) -> list[str]:
    """Mosquitto lines for a broker whose auth files live in `directory`.

    `run_as`: the user Mosquitto stays (a broker started as root otherwise drops
    to `mosquitto`, who cannot read files only their writer may read). Tests
    and the demo pass the current user; systemd starts it as its own user.
    """
    directory = Path(directory).resolve()
    lines = [f"user {run_as}"] if run_as else []
    lines += [
        # Applies to the listener render_config opened just before these lines.
        "use_username_as_clientid true",
        "allow_anonymous false",
        f"password_file {directory / PASSWORDS}",
        f"acl_file {directory / ACL}",
    ]
    if plan.tls_port is not None:
        lines += [
            f"listener {plan.tls_port} {plan.tls_bind}",
            "use_username_as_clientid true",
            f"cafile {directory / CA_CERT}",
            f"certfile {directory / SERVER_CERT}",
            f"keyfile {directory / SERVER_KEY}",
            "tls_version tlsv1.2",
            f"require_certificate {'true' if plan.require_client_cert else 'false'}",
        ]
    return lines


def write_access_files(directory: Path, accounts: Iterable[Account]) -> None:
    """Password file and ACL, each replaced atomically (the broker may reload at any moment).

    The ACL goes first: a device removed from both is denied before it is unknown.
    """
    accounts = list(accounts)
    write_file_atomic(Path(directory) / ACL, render_acl(accounts).encode(), secret=True)
    write_file_atomic(Path(directory) / PASSWORDS, render_password_file(accounts).encode(), secret=True)


class CertifiedKey(Protocol):
    """A certificate and its private key, PEM-encoded (provisioning's `pki.KeyPair`)."""

    @property
    def cert_pem(self) -> bytes: ...

    @property
    def key_pem(self) -> bytes: ...


def write_tls_files(directory: Path, ca_cert_pem: bytes, server: CertifiedKey) -> None:
    write_file_atomic(Path(directory) / CA_CERT, ca_cert_pem)
    write_file_atomic(Path(directory) / SERVER_CERT, server.cert_pem)
    write_file_atomic(Path(directory) / SERVER_KEY, server.key_pem, secret=True)


def current_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def reload_pid(pid: int) -> bool:
    """SIGHUP a broker by process id (a broker this process started: tests, the demo)."""
    try:
        os.kill(pid, signal.SIGHUP)
    except (ProcessLookupError, PermissionError) as exc:
        log.warning("could not signal the broker (pid %d): %s", pid, exc)
        return False
    return True


BROKER_UNIT = "hallwatch-broker.service"

BrokerReload = Callable[[], bool]
"""Makes a broker reread its password file and ACL; False when it could not be told."""


def reloader(spec: str) -> BrokerReload:
    """How to reach the broker, written `systemd:UNIT` (`systemd` alone: the hall broker's unit),
    `pid:PID` (a broker this machine's tests or demo started) or `none` (nobody is told).
    Raises ValueError for anything else, saying what would be right."""
    method, _, arg = spec.partition(":")
    if method == "systemd":
        unit = arg or BROKER_UNIT
        return lambda: systemd_reload(unit)
    if method == "pid" and arg.isdigit():
        pid = int(arg)
        return lambda: reload_pid(pid)
    if method == "none" and not arg:
        return lambda: False
    raise ValueError(f"broker reload {spec!r}: use systemd:UNIT, pid:PID or none")


def systemd_reload(unit: str = BROKER_UNIT) -> bool:
    """SIGHUP the broker systemd runs as `unit`: it rereads passwords and ACL, and every
    other client stays connected. False when the unit is not running."""
    try:
        result = subprocess.run(
            ["systemctl", "show", "--property", "MainPID", "--value", unit],
            capture_output=True, text=True, timeout=10, check=False,
        )
        pid = int(result.stdout.strip() or 0)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        pid = 0
    if pid <= 0:
        log.warning("%s is not running; the new access rules apply at its next start", unit)
        return False
    try:
        os.kill(pid, signal.SIGHUP)
    except (ProcessLookupError, PermissionError) as exc:
        log.warning("could not signal %s (pid %d): %s", unit, pid, exc)
        return False
    log.info("hall broker reloaded its password file and ACL")
    return True
