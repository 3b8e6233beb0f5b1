"""Which devices may speak in this hall: the hall's part of the provisioning registry, in its tables.

Central sends the hall's registry whole (`registry.sync`, versioned); the
gateway keeps it in its SQLite file, cached in memory for the ingest path, and
moves a device from provisioned to active when its self-test passes. With it
come the hall's windows and officers and their units (`directory`), and the
gateway's own quarantine of devices refused too often (`quarantine`). A write
by another process (`hall gateway apply-registry` or `release` run on the
gateway) is noticed through SQLite's `data_version` and reloaded before the
next batch.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

from contract.commands.registry import HallState
from gateway.config import DevicePolicy
from gateway.registry import directory, quarantine
from gateway.registry.directory import UnitDirectory
from gateway.registry.quarantine import Quarantine
from spine.database import Database

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS registry (
    device TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    window TEXT,
    state TEXT NOT NULL DEFAULT 'active'
);
CREATE TABLE IF NOT EXISTS registry_sync (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    applied_at INTEGER NOT NULL
);
"""

# Columns added after the spine's first table; added in place to an existing file.
_COLUMNS = {
    "credential_version": "INTEGER NOT NULL DEFAULT 0",
    "config": "TEXT",
    "config_version": "INTEGER NOT NULL DEFAULT 0",
    "applied_version": "INTEGER NOT NULL DEFAULT 0",
    "selftest": "TEXT",
    "updated_at": "INTEGER",
}

# What a provisioned device (not yet active) may send: its self-test and its config reports.
PROVISIONING_EVENTS = frozenset({"device.selftest", "device.config_applied", "device.dropped"})


def ensure_tables(db: Database) -> None:
    """The registry's tables, an older registry table brought up to date in place."""
    db.ensure_schema(SCHEMA + directory.SCHEMA + quarantine.SCHEMA)
    present = {row[1] for row in db.query("PRAGMA table_info(registry)")}
    for column, definition in _COLUMNS.items():
        if column not in present:
            db.ensure_schema(f"ALTER TABLE registry ADD COLUMN {column} {definition}")


@dataclass(frozen=True)
class RegisteredDevice:
    id: str
    kind: str
    window: str | None
    state: str
    credential_version: int = 0
    config_version: int = 0
    applied_version: int = 0


@dataclass(frozen=True)
class Transition:
    device: str
    previous: str | None
    state: str
    reason: str
    credential_version: int | None = None


def selftest_pending(registered: RegisteredDevice | None, event_type: str) -> str | None:
    """Why a provisioned device's event does not count yet, or None."""
    if registered is None or registered.state != "provisioned" or event_type in PROVISIONING_EVENTS:
        return None
    return f"device {registered.id!r} has not passed its self-test yet: run its selftest command"


class DeviceRegistry:
    """Registered devices, cached in memory: the ingest path asks on every batch."""

    def __init__(self, db: Database, policy: DevicePolicy) -> None:
        self.db = db
        self.policy = policy
        ensure_tables(db)
        with db.transaction() as tx:
            for device in policy.known:
                tx.execute(
                    "INSERT INTO registry (device, kind, window) VALUES (?, ?, ?) "
                    "ON CONFLICT (device) DO UPDATE SET kind = excluded.kind, window = excluded.window",
                    (device.id, device.kind.value, device.window),
                )
        self._devices: dict[str, RegisteredDevice] = {}
        self._units = UnitDirectory()
        self._quarantined: dict[str, Quarantine] = {}
        self._releases_to_report = 0
        self._stale = threading.Event()
        self._data_version = -1
        self.reload()
        if policy.open_enrolment:
            log.warning("open enrolment is on: any device may send to this hall (demo/bench only)")

    # --- the cache -------------------------------------------------------

    def reload(self) -> None:
        rows = self.db.query(
            "SELECT device, kind, window, state, credential_version, config_version, applied_version "
            "FROM registry"
        )
        self._devices = {row[0]: RegisteredDevice(*row) for row in rows}
        self._units = self.db.read(directory.read_directory)
        self._quarantined = self.db.read(quarantine.current)
        self._releases_to_report = len(self.db.read(quarantine.unreported_releases))
        self._data_version = self._current_data_version()
        self._stale.clear()

    def mark_stale(self) -> None:
        """This process changed the table: reload before the next question."""
        self._stale.set()

    def _current_data_version(self) -> int:
        # Changes only when *another* connection commits to the file: a technician's
        # tool writing the registry on the gateway, not our own ingest.
        return int(self.db.query("PRAGMA data_version")[0][0])

    def _fresh(self) -> dict[str, RegisteredDevice]:
        if self._stale.is_set() or self._current_data_version() != self._data_version:
            self.reload()
        return self._devices

    def get(self, device: str) -> RegisteredDevice | None:
        return self._fresh().get(device)

    def devices(self) -> list[RegisteredDevice]:
        return sorted(self._fresh().values(), key=lambda d: d.id)

    def refusal(self, device: str) -> str | None:
        """None when `device` may send, else why not (and what to do)."""
        registered = self._fresh().get(device)
        if registered is None:
            if self.policy.open_enrolment:
                return None
            return f"unknown device {device!r}: provision it with 'hall provision device add'"
        if registered.state == "retired":
            return f"device {device!r} is retired"
        if registered.state == "registered":
            return f"device {device!r} is registered but not provisioned: it has no credentials yet"
        return None

    def event_refusal(self, device: str, event_type: str) -> str | None:
        """Stricter, per event: a provisioned device's events count only once it is active,
        except the ones that get it there (self-test, configuration reports)."""
        return selftest_pending(self._fresh().get(device), event_type)

    def units(self) -> UnitDirectory:
        """The units of the hall's officers and windows, as central's registry names them."""
        self._fresh()
        return self._units

    def quarantined(self, device: str) -> Quarantine | None:
        self._fresh()
        return self._quarantined.get(device)

    def has_unreported_releases(self) -> bool:
        """A technician released a device (another process wrote it) and central has not heard yet."""
        self._fresh()
        return self._releases_to_report > 0

    def quarantine(self, tx: sqlite3.Connection, device: str, reason: str, now_ms: int) -> bool:
        """Inside the storing transaction: stop listening to `device`; False when it already was."""
        begun = quarantine.begin(tx, device, reason, now_ms)
        self.mark_stale()
        return begun

    # --- transitions -----------------------------------------------------

    def selftest_transition(
        self, tx: sqlite3.Connection, device: str, body: dict[str, Any], now_ms: int
    ) -> Transition | None:
        """Inside the storing transaction: keep the result; a pass makes a provisioned device active."""
        row = tx.execute(
            "SELECT state, credential_version FROM registry WHERE device = ?", (device,)
        ).fetchone()
        if row is None:
            return None
        previous, credential_version = row
        summary = json.dumps({"passed": body.get("passed"), "at": now_ms,
                              "failed": [s["name"] for s in body.get("steps", []) if not s.get("passed")]})
        tx.execute(
            "UPDATE registry SET selftest = ?, updated_at = ? WHERE device = ?", (summary, now_ms, device)
        )
        self.mark_stale()
        if body.get("passed") and previous == "provisioned":
            tx.execute("UPDATE registry SET state = 'active' WHERE device = ?", (device,))
            return Transition(device, previous, "active", "self-test passed", credential_version)
        return None

    def record_applied(self, tx: sqlite3.Connection, device: str, version: int, now_ms: int) -> None:
        tx.execute(
            "UPDATE registry SET applied_version = max(applied_version, ?), updated_at = ? WHERE device = ?",
            (version, now_ms, device),
        )
        self.mark_stale()

    def sync_version(self) -> int:
        rows = self.db.query("SELECT version FROM registry_sync WHERE id = 1")
        return int(rows[0][0]) if rows else 0

    def apply_state(
        self, tx: sqlite3.Connection, state: HallState, now_ms: int
    ) -> tuple[list[Transition], list[str]]:
        """Merge central's hall registry inside `tx` (see `apply_hall_state`)."""
        result = apply_hall_state(tx, state, now_ms)
        self.mark_stale()
        return result

    def config_payload(self, device: str) -> str:
        """The retained configuration message of a device, or '' to clear it (retired)."""
        rows = self.db.query("SELECT state, config FROM registry WHERE device = ?", (device,))
        if not rows or rows[0][0] == "retired" or not rows[0][1]:
            return ""
        return str(rows[0][1])


def apply_hall_state(
    tx: sqlite3.Connection, state: HallState, now_ms: int
) -> tuple[list[Transition], list[str]]:
    """Merge central's hall registry; returns the state changes and the devices whose
    configuration must be (re)published. The gateway's own news wins where it is newer:
    a device it activated stays active unless central issued new credentials since."""
    directory.apply_directory(tx, state)
    transitions: list[Transition] = []
    republish: list[str] = []
    for entry in state.devices:
        row = tx.execute(
            "SELECT state, credential_version, config_version FROM registry WHERE device = ?", (entry.id,)
        ).fetchone()
        previous, cred, config_version = row if row else (None, -1, 0)
        new_state: str = entry.state
        if previous == "active" and entry.state == "provisioned" and entry.credential_version <= cred:
            new_state = "active"
        tx.execute(
            "INSERT INTO registry (device, kind, window, state, credential_version, config, "
            "config_version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (device) DO UPDATE SET "
            "kind = excluded.kind, window = excluded.window, state = excluded.state, "
            "credential_version = excluded.credential_version, config = excluded.config, "
            "config_version = excluded.config_version, updated_at = excluded.updated_at",
            (entry.id, entry.kind, entry.window, new_state, entry.credential_version,
             entry.config.model_dump_json(), entry.config.version, now_ms),
        )
        if new_state != previous:
            transitions.append(
                Transition(entry.id, previous, new_state, f"registry version {state.version}",
                           entry.credential_version)
            )
        if entry.config.version != config_version or new_state != previous:
            republish.append(entry.id)
    tx.execute(
        "INSERT INTO registry_sync (id, version, applied_at) VALUES (1, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at",
        (state.version, now_ms),
    )
    return transitions, republish


def state_of(tx: sqlite3.Connection, device: str) -> str | None:
    row = tx.execute("SELECT state FROM registry WHERE device = ?", (device,)).fetchone()
    return str(row[0]) if row else None


@dataclass(frozen=True)
class RegisteredDeviceView:
    """A device as a technician at the gateway sees it."""

    device: str
    state: str
    kind: str
    window: str | None
    selftest: str
    quarantine: str | None = None

    def line(self) -> str:
        line = f"{self.device}\t{self.state}\t{self.kind}\t{self.window or '-'}\t{self.selftest}"
        return line + (f"\tQUARANTINED: {self.quarantine}" if self.quarantine else "")


def device_views(conn: sqlite3.Connection) -> list[RegisteredDeviceView]:
    """Each device's state, its last self-test's verdict and any quarantine, in device order."""
    try:
        held = quarantine.current(conn)
    except sqlite3.OperationalError:  # a gateway file from before quarantines existed
        held = {}
    views = []
    for device, kind, window, state, selftest in conn.execute(
        "SELECT device, kind, window, state, selftest FROM registry ORDER BY device"
    ):
        result = json.loads(selftest) if selftest else None
        verdict = ("no self-test yet" if result is None else "self-test passed" if result["passed"]
                   else "self-test FAILED: " + ", ".join(result["failed"]))
        found = held.get(device)
        views.append(RegisteredDeviceView(device, state, kind, window, verdict,
                                          found.reason if found else None))
    return views
