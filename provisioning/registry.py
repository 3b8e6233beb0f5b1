"""Central's provisioning registry: halls, departments, windows, officers, technicians, devices.

One SQLite file at central (WAL, durable commits). It never holds a device
password, only its Mosquitto hash. Every change is written with an audit row
in the same transaction; the audit table is append-only.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from contract.topics import check_identifier
from provisioning.model import Device, DeviceKind, DeviceState, Hall, WindowRecord, hardware_json
from spine.sqlite import Transaction, append_only, open_database

SCHEMA = """
CREATE TABLE IF NOT EXISTS halls (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    gateway TEXT NOT NULL UNIQUE,
    broker_hosts TEXT NOT NULL,
    broker_port INTEGER NOT NULL,
    sync_version INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS departments (
    hall TEXT NOT NULL REFERENCES halls (id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (hall, id)
);
CREATE TABLE IF NOT EXISTS windows (
    hall TEXT NOT NULL REFERENCES halls (id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    department TEXT,
    PRIMARY KEY (hall, id)
);
CREATE TABLE IF NOT EXISTS officers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hall TEXT NOT NULL REFERENCES halls (id),
    department TEXT,
    window TEXT
);
CREATE TABLE IF NOT EXISTS technicians (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    halls TEXT NOT NULL,
    may_reprovision INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS accounts (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    hall TEXT,
    password_hash TEXT NOT NULL,
    rotated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY,
    hall TEXT NOT NULL REFERENCES halls (id),
    kind TEXT NOT NULL,
    window TEXT,
    serial TEXT,
    hardware TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL,
    password_hash TEXT,
    credential_version INTEGER NOT NULL DEFAULT 0,
    config_version INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS devices_by_serial ON devices (serial)
    WHERE serial IS NOT NULL AND state != 'retired';
CREATE TABLE IF NOT EXISTS device_numbers (
    hall TEXT NOT NULL,
    kind TEXT NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (hall, kind)
);
CREATE TABLE IF NOT EXISTS enrolments (
    lookup TEXT PRIMARY KEY,
    device TEXT NOT NULL REFERENCES devices (id),
    sealed BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    fetched_at INTEGER,
    fetched_by TEXT
);
CREATE TABLE IF NOT EXISTS followed_logs (
    log TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
""" + append_only("audit", "the audit log")

DEVICE_COLUMNS = (
    "id, hall, kind, window, serial, hardware, state, credential_version, config_version, "
    "created_at, updated_at"
)


class RegistryError(Exception):
    """A request the registry refuses; the message says why and what to do instead."""


def now_ms() -> int:
    return int(time.time() * 1000)


def _device(row: tuple[Any, ...]) -> Device:
    return Device(
        id=row[0], hall=row[1], kind=DeviceKind(row[2]), window=row[3], serial=row[4],
        hardware=json.loads(row[5]), state=DeviceState(row[6]), credential_version=row[7],
        config_version=row[8], created_at=row[9], updated_at=row[10],
    )


class Registry:
    """The central registry file. Methods taking `tx` run inside a caller's transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db = open_database(self.path, page_size=None)
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, Transaction(self._db) as tx:
            yield tx

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # --- audit -----------------------------------------------------------

    @staticmethod
    def audit(tx: sqlite3.Connection, actor: str, action: str, subject: str, **detail: Any) -> None:
        """Who did what to which; never a secret (callers pass ids, serials, versions)."""
        tx.execute(
            "INSERT INTO audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
            (now_ms(), actor, action, subject, json.dumps(detail, sort_keys=True, ensure_ascii=False)),
        )

    def audit_log(self, subject: str | None = None) -> list[dict[str, Any]]:
        rows = self._read(
            "SELECT at, actor, action, subject, detail FROM audit "
            + ("WHERE subject = ? " if subject else "")
            + "ORDER BY id",
            (subject,) if subject else (),
        )
        return [
            {"at": r[0], "actor": r[1], "action": r[2], "subject": r[3], "detail": json.loads(r[4])}
            for r in rows
        ]

    # --- halls and their people ------------------------------------------

    def add_hall(
        self, tx: sqlite3.Connection, hall: str, name: str, gateway: str, hosts: list[str], port: int
    ) -> Hall:
        check_identifier(hall, "hall")
        check_identifier(gateway, "gateway")
        if tx.execute("SELECT 1 FROM halls WHERE id = ?", (hall,)).fetchone():
            raise RegistryError(f"hall {hall!r} already exists")
        tx.execute(
            "INSERT INTO halls (id, name, gateway, broker_hosts, broker_port, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (hall, name, gateway, json.dumps(hosts), port, now_ms()),
        )
        return Hall(hall, name, gateway, hosts, port)

    def hall(self, hall: str) -> Hall:
        rows = self._read(
            "SELECT id, name, gateway, broker_hosts, broker_port FROM halls WHERE id = ?", (hall,)
        )
        if not rows:
            known = ", ".join(h.id for h in self.halls()) or "none yet"
            raise RegistryError(
                f"no hall {hall!r} (known: {known}); create it with 'hall provision hall create'"
            )
        r = rows[0]
        return Hall(r[0], r[1], r[2], json.loads(r[3]), r[4])

    def halls(self) -> list[Hall]:
        rows = self._read("SELECT id, name, gateway, broker_hosts, broker_port FROM halls ORDER BY id")
        return [Hall(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def add_department(self, tx: sqlite3.Connection, hall: str, department: str, name: str) -> None:
        check_identifier(department, "department")
        tx.execute(
            "INSERT INTO departments (hall, id, name) VALUES (?, ?, ?) "
            "ON CONFLICT (hall, id) DO UPDATE SET name = excluded.name",
            (hall, department, name),
        )

    def add_window(
        self, tx: sqlite3.Connection, hall: str, window: str, name: str, department: str | None
    ) -> None:
        check_identifier(window, "window")
        if department is not None and not tx.execute(
            "SELECT 1 FROM departments WHERE hall = ? AND id = ?", (hall, department)
        ).fetchone():
            raise RegistryError(f"hall {hall!r} has no department {department!r}; add it first")
        tx.execute(
            "INSERT INTO windows (hall, id, name, department) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (hall, id) DO UPDATE SET name = excluded.name, department = excluded.department",
            (hall, window, name, department),
        )

    def windows(self, hall: str) -> list[WindowRecord]:
        rows = self._read(
            "SELECT hall, id, name, department FROM windows WHERE hall = ? ORDER BY id", (hall,)
        )
        return [WindowRecord(*r) for r in rows]

    def departments(self, hall: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self._read(
            "SELECT id, name FROM departments WHERE hall = ? ORDER BY id", (hall,))]

    def add_officer(
        self, tx: sqlite3.Connection, officer: str, name: str, hall: str,
        department: str | None, window: str | None,
    ) -> None:
        check_identifier(officer, "officer")
        tx.execute(
            "INSERT INTO officers (id, name, hall, department, window) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, hall = excluded.hall, "
            "department = excluded.department, window = excluded.window",
            (officer, name, hall, department, window),
        )

    def officers(self, hall: str) -> list[dict[str, Any]]:
        rows = self._read(
            "SELECT id, name, department, window FROM officers WHERE hall = ? ORDER BY id", (hall,)
        )
        return [{"id": r[0], "name": r[1], "department": r[2], "window": r[3]} for r in rows]

    def add_technician(
        self, tx: sqlite3.Connection, technician: str, name: str, halls: list[str], may_reprovision: bool
    ) -> None:
        check_identifier(technician, "technician")
        tx.execute(
            "INSERT INTO technicians (id, name, halls, may_reprovision) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, halls = excluded.halls, "
            "may_reprovision = excluded.may_reprovision",
            (technician, name, json.dumps(sorted(halls)), int(may_reprovision)),
        )

    def authorise(self, technician: str | None, hall: str, *, reprovision: bool = False) -> str:
        """The technician's id when they may change devices of `hall` (and re-provision, if asked)."""
        if not technician:
            raise RegistryError("say who you are: --by TECHNICIAN (or HALLWATCH_TECHNICIAN)")
        rows = self._read("SELECT halls, may_reprovision FROM technicians WHERE id = ?", (technician,))
        if not rows:
            raise RegistryError(
                f"{technician!r} is not a registered technician; "
                "add them with 'hall provision technician add'"
            )
        halls, may_reprovision = json.loads(rows[0][0]), bool(rows[0][1])
        if "*" not in halls and hall not in halls:
            raise RegistryError(f"technician {technician!r} is not authorised for hall {hall!r}")
        if reprovision and not may_reprovision:
            raise RegistryError(
                f"technician {technician!r} may not re-provision or replace devices; "
                "ask a technician who may (technician add --may-reprovision)"
            )
        return technician

    # --- service accounts (gateway, central, provisioner) -----------------

    def set_account(
        self, tx: sqlite3.Connection, username: str, role: str, hall: str | None, password_hash: str
    ) -> None:
        tx.execute(
            "INSERT INTO accounts (username, role, hall, password_hash, rotated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, "
            "rotated_at = excluded.rotated_at",
            (username, role, hall, password_hash, now_ms()),
        )

    def accounts(self) -> list[tuple[str, str, str | None, str]]:
        return [(r[0], r[1], r[2], r[3]) for r in self._read(
            "SELECT username, role, hall, password_hash FROM accounts ORDER BY username")]

    # --- devices ---------------------------------------------------------

    def next_device_id(self, tx: sqlite3.Connection, hall: str, kind: DeviceKind) -> str:
        """`<kind>-<hall>-<nnn>`: readable on a label, never reused, never from a MAC."""
        (number,) = tx.execute(
            "INSERT INTO device_numbers (hall, kind, last) VALUES (?, ?, 1) "
            "ON CONFLICT (hall, kind) DO UPDATE SET last = last + 1 RETURNING last",
            (hall, kind.value),
        ).fetchone()
        return check_identifier(f"{kind.value}-{hall}-{number:03d}", "device id")

    def insert_device(self, tx: sqlite3.Connection, device: Device, password_hash: str | None) -> None:
        tx.execute(
            f"INSERT INTO devices ({DEVICE_COLUMNS}, password_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                device.id, device.hall, device.kind.value, device.window, device.serial,
                hardware_json(device.hardware), device.state.value, device.credential_version,
                device.config_version, device.created_at, device.updated_at, password_hash,
            ),
        )

    def update_device(self, tx: sqlite3.Connection, device: Device, password_hash: str | None) -> None:
        tx.execute(
            "UPDATE devices SET window = ?, serial = ?, hardware = ?, state = ?, credential_version = ?, "
            "config_version = ?, updated_at = ?, password_hash = ? WHERE id = ?",
            (
                device.window, device.serial, hardware_json(device.hardware), device.state.value,
                device.credential_version, device.config_version, device.updated_at, password_hash,
                device.id,
            ),
        )

    def set_state(self, tx: sqlite3.Connection, device: str, state: DeviceState) -> None:
        tx.execute(
            "UPDATE devices SET state = ?, updated_at = ? WHERE id = ?", (state.value, now_ms(), device)
        )

    def device(self, device: str, tx: sqlite3.Connection | None = None) -> Device:
        sql = f"SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?"
        rows = tx.execute(sql, (device,)).fetchall() if tx else self._read(sql, (device,))
        if not rows:
            raise RegistryError(f"no device {device!r}; 'hall provision device list' shows the known ones")
        return _device(rows[0])

    def device_by_serial(self, serial: str, tx: sqlite3.Connection | None = None) -> Device | None:
        sql = f"SELECT {DEVICE_COLUMNS} FROM devices WHERE serial = ? AND state != 'retired'"
        rows = tx.execute(sql, (serial,)).fetchall() if tx else self._read(sql, (serial,))
        return _device(rows[0]) if rows else None

    def password_hash(self, device: str) -> str | None:
        rows = self._read("SELECT password_hash FROM devices WHERE id = ?", (device,))
        return rows[0][0] if rows else None

    def devices(self, hall: str | None = None, state: DeviceState | None = None) -> list[Device]:
        sql = f"SELECT {DEVICE_COLUMNS} FROM devices WHERE 1 = 1"
        params: list[Any] = []
        if hall:
            sql += " AND hall = ?"
            params.append(hall)
        if state:
            sql += " AND state = ?"
            params.append(state.value)
        return [_device(r) for r in self._read(sql + " ORDER BY hall, id", tuple(params))]

    def device_hashes(self, hall: str) -> dict[str, str]:
        """Password hashes of the hall's devices that may log in (provisioned or active)."""
        rows = self._read(
            "SELECT id, password_hash FROM devices WHERE hall = ? AND state IN ('provisioned', 'active') "
            "AND password_hash IS NOT NULL",
            (hall,),
        )
        return {r[0]: r[1] for r in rows}

    def bump_sync_version(self, tx: sqlite3.Connection, hall: str) -> int:
        (version,) = tx.execute(
            "UPDATE halls SET sync_version = sync_version + 1 WHERE id = ? RETURNING sync_version", (hall,)
        ).fetchone()
        return int(version)

    def sync_version(self, hall: str) -> int:
        rows = self._read("SELECT sync_version FROM halls WHERE id = ?", (hall,))
        return int(rows[0][0]) if rows else 0
