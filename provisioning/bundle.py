"""Configuration bundles: every file a Pi needs to become a hall device, written whole or not at all.

A device bundle holds `agent.toml` (identity, broker, outbox), `hardware.json`
(the registry's hardware settings), the hall CA, the MQTT password (the only
secret), optionally a client certificate, and `bundle.json` describing it.
It is written to the Pi's boot partition (or sealed for an enrolment code);
on first boot `hall provision install` copies it to the device's layout and
wipes the secret from the boot partition, which any user could read.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioning.model import Device, Hall
from provisioning.roles import check_agent_config, settings_toml
from spine.files import (
    FileEntry,
    IncompleteBundle,
    verify_directory,
    write_directory_atomic,
    write_file_atomic,
)

PASSWORD_FILE = "secrets/mqtt.password"
CLIENT_KEY = "secrets/client.key"
CLIENT_CERT = "client.crt"


@dataclass(frozen=True)
class Layout:
    """Where an installed device keeps configuration (read-only after install) and state."""

    etc: Path = Path("/etc/hallwatch")
    var: Path = Path("/var/lib/hallwatch")

    def secret(self, name: str) -> Path:
        return self.var / name


def _toml_str(value: str | Path) -> str:
    return json.dumps(str(value), ensure_ascii=False)


def agent_toml(device: Device, hall: Hall, layout: Layout, *, client_cert: bool) -> str:
    """The agent's whole TOML: identity, broker and outbox from provisioning, then the device's
    hardware settings as the agent's own sections (validated with its model before writing)."""
    top, tables = settings_toml(device.hardware)
    lines = [
        "# Written by 'hall provision'. Change settings with 'hall provision device configure'.",
        f"data_dir = {_toml_str(layout.var)}",
        *top,
        "",
        "[device]",
        f"id = {_toml_str(device.id)}",
        f"hall = {_toml_str(device.hall)}",
        f"kind = {_toml_str(device.kind.value)}",
    ]
    if device.window:
        lines.append(f"window = {_toml_str(device.window)}")
    lines += [
        "",
        "[broker]",
        f"host = {_toml_str(hall.broker_hosts[0])}",
        f"port = {hall.broker_port}",
        f"username = {_toml_str(device.id)}",
        f"password_file = {_toml_str(layout.secret(PASSWORD_FILE))}",
        f"tls_ca = {_toml_str(layout.etc / 'ca.crt')}",
    ]
    if client_cert:
        lines += [
            f"tls_cert = {_toml_str(layout.etc / CLIENT_CERT)}",
            f"tls_key = {_toml_str(layout.secret(CLIENT_KEY))}",
        ]
    lines += ["", "[outbox]", f"path = {_toml_str(layout.var / 'outbox.sqlite')}", *tables, ""]
    text = "\n".join(lines)
    check_agent_config(device.kind, text)
    return text


def placed(
    files: dict[str, FileEntry], meta: dict[str, Any], places: dict[str, Path]
) -> dict[str, FileEntry]:
    """Add `bundle.json`: what the bundle is, and where `install` puts each file."""
    meta = dict(meta, files={name: str(places[name]) for name in files})
    return {"bundle.json": FileEntry(json.dumps(meta, indent=1, ensure_ascii=False).encode()), **files}


def device_bundle(
    device: Device,
    hall: Hall,
    password: str,
    ca_cert_pem: bytes,
    layout: Layout,
    *,
    client_cert: tuple[bytes, bytes] | None = None,
) -> dict[str, FileEntry]:
    """The files of one device's bundle, by relative path."""
    meta: dict[str, Any] = {
        "role": "device", "device": device.id, "hall": device.hall, "kind": device.kind.value,
        "window": device.window, "serial": device.serial, "credential_version": device.credential_version,
    }
    files = {
        "agent.toml": FileEntry(
            agent_toml(device, hall, layout, client_cert=client_cert is not None).encode()
        ),
        "ca.crt": FileEntry(ca_cert_pem),
        PASSWORD_FILE: FileEntry(password.encode() + b"\n", secret=True),
    }
    if client_cert is not None:
        files[CLIENT_CERT] = FileEntry(client_cert[0])
        files[CLIENT_KEY] = FileEntry(client_cert[1], secret=True)
    places = {
        name: layout.secret(name) if entry.secret else layout.etc / name for name, entry in files.items()
    }
    return placed(files, meta, places)


def write_bundle(target: Path, files: dict[str, FileEntry]) -> None:
    write_directory_atomic(target, files)


@dataclass(frozen=True)
class Installed:
    device: str
    config: Path | None
    units: tuple[str, ...]
    """The systemd units that run what was installed."""


def units_for(meta: dict[str, Any]) -> tuple[str, ...]:
    role = meta.get("role")
    if role == "gateway":
        return ("hallwatch-broker.service", "hallwatch-gateway.service")
    if role == "central":
        return ("hallwatch-broker.service", "hallwatch-central.service", "hallwatch-enrolment.service")
    from provisioning.model import DeviceKind
    from provisioning.roles import ROLES

    return (f"{ROLES[DeviceKind(meta['kind'])].unit}.service",)


def install_bundle(bundle_dir: Path, *, wipe_secrets: bool = True) -> Installed:
    """Copy a complete bundle to where it says; then remove its secrets from the bundle.

    Refuses a bundle whose manifest is missing or does not match (a copy cut
    short, a card pulled early): nothing is installed from half a bundle.
    """
    bundle_dir = Path(bundle_dir)
    if (bundle_dir / "INSTALLED").exists():
        raise IncompleteBundle(
            f"{bundle_dir} was installed already and its secrets wiped; "
            "re-provision the device for a new one"
        )
    verify_directory(bundle_dir)
    meta = json.loads((bundle_dir / "bundle.json").read_text())
    secret_names = {name for name in meta["files"] if name.startswith("secrets/") or name.endswith(".key")}
    for name, destination in meta["files"].items():
        write_file_atomic(Path(destination), (bundle_dir / name).read_bytes(), secret=name in secret_names)
    if wipe_secrets:
        for name in secret_names:
            path = bundle_dir / name
            if path.exists():
                # Overwrite before unlinking: a FAT boot partition is readable by anyone.
                with open(path, "r+b") as handle:
                    handle.write(b"\0" * path.stat().st_size)
                    handle.flush()
                    os.fsync(handle.fileno())
                path.unlink()
        shutil.rmtree(bundle_dir / "secrets", ignore_errors=True)
        write_file_atomic(bundle_dir / "INSTALLED", f"{meta.get('device') or meta.get('role')}\n".encode())
    config = next((Path(d) for n, d in meta["files"].items() if n.endswith(".toml")), None)
    return Installed(str(meta.get("device") or meta.get("role")), config, units_for(meta))
