"""Which devices may speak in this hall: the hall's part of the provisioning registry.

Central sends the hall's registry whole (`registry.sync`, versioned); the
gateway keeps it in its SQLite file, cached in memory for the ingest path, and
moves a device from provisioned to active when its self-test passes. A write
by another process (the technicians' tool run on the gateway) is noticed
through SQLite's `data_version` and reloaded before the next batch.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from contract.commands.registry import HallState
from contract.events.provisioning import SELFTEST_RESULT_COMMAND
from contract.topics import Channel, device_topic
from gateway.config import DevicePolicy
from gateway.store import HandlerContext
from spine.broker.access import hall_accounts
from spine.outbox import Outbox
from spine.receiver import AcceptedEvent

if TYPE_CHECKING:
    from gateway.service import GatewayService

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

SELFTEST_RESULT = SELFTEST_RESULT_COMMAND


def missing_columns(table_info: list[Any]) -> list[str]:
    """ALTER statements bringing an older registry table up to date."""
    present = {row[1] for row in table_info}
    return [f"ALTER TABLE registry ADD COLUMN {column} {definition}"
            for column, definition in _COLUMNS.items() if column not in present]


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


class DeviceRegistry:
    """Registered devices, cached in memory: the ingest path asks on every batch."""

    def __init__(self, outbox: Outbox, policy: DevicePolicy) -> None:
        self.outbox = outbox
        self.policy = policy
        outbox.ensure_schema(SCHEMA)
        for statement in missing_columns(outbox.query("PRAGMA table_info(registry)")):
            outbox.ensure_schema(statement)
        with outbox.transaction() as tx:
            for device in policy.known:
                tx.execute(
                    "INSERT INTO registry (device, kind, window) VALUES (?, ?, ?) "
                    "ON CONFLICT (device) DO UPDATE SET kind = excluded.kind, window = excluded.window",
                    (device.id, device.kind, device.window),
                )
        self._devices: dict[str, RegisteredDevice] = {}
        self._stale = threading.Event()
        self._data_version = -1
        self.reload()
        if policy.open_enrolment:
            log.warning("open enrolment is on: any device may send to this hall (demo/bench only)")

    # --- the cache -------------------------------------------------------

    def reload(self) -> None:
        rows = self.outbox.query(
            "SELECT device, kind, window, state, credential_version, config_version, applied_version "
            "FROM registry"
        )
        self._devices = {row[0]: RegisteredDevice(*row) for row in rows}
        self._data_version = self._current_data_version()
        self._stale.clear()

    def mark_stale(self) -> None:
        """This process changed the table: reload before the next question."""
        self._stale.set()

    def _current_data_version(self) -> int:
        # Changes only when *another* connection commits to the file: a technician's
        # tool writing the registry on the gateway, not our own ingest.
        return int(self.outbox.query("PRAGMA data_version")[0][0])

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
        registered = self._fresh().get(device)
        if registered is None or registered.state != "provisioned":
            return None
        if event_type not in PROVISIONING_EVENTS:
            return f"device {device!r} has not passed its self-test yet: run its selftest command"
        return None

    # --- transitions -----------------------------------------------------

    def selftest_transition(
        self, tx: Any, device: str, body: dict[str, Any], now_ms: int
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

    def record_applied(self, tx: Any, device: str, version: int, now_ms: int) -> None:
        tx.execute(
            "UPDATE registry SET applied_version = max(applied_version, ?), updated_at = ? WHERE device = ?",
            (version, now_ms, device),
        )
        self.mark_stale()

    def sync_version(self) -> int:
        rows = self.outbox.query("SELECT version FROM registry_sync WHERE id = 1")
        return int(rows[0][0]) if rows else 0

    def apply_state(self, tx: Any, state: HallState, now_ms: int) -> tuple[list[Transition], list[str]]:
        """Merge central's hall registry inside `tx` (see `apply_hall_state`)."""
        result = apply_hall_state(tx, state, now_ms)
        self.mark_stale()
        return result

    def config_payload(self, device: str) -> str:
        """The retained configuration message of a device, or '' to clear it (retired)."""
        rows = self.outbox.query("SELECT state, config FROM registry WHERE device = ?", (device,))
        if not rows or rows[0][0] == "retired" or not rows[0][1]:
            return ""
        return str(rows[0][1])


def apply_hall_state(tx: Any, state: HallState, now_ms: int) -> tuple[list[Transition], list[str]]:
    """Merge central's hall registry; returns the state changes and the devices whose
    configuration must be (re)published. The gateway's own news wins where it is newer:
    a device it activated stays active unless central issued new credentials since."""
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


def _transition_body(t: Transition) -> dict[str, Any]:
    return {"device": t.device, "state": t.state, "previous": t.previous, "reason": t.reason,
            "credential_version": t.credential_version}


class RegistryHandler:
    """Gateway handler: self-test results and configuration reports move the registry."""

    def __init__(self, hall: str, registry: Callable[[], DeviceRegistry]) -> None:
        self.hall = hall
        self._registry = registry

    def handle(self, context: HandlerContext, event: AcceptedEvent) -> None:
        envelope = event.envelope
        if envelope.type == "device.selftest":
            self._selftest(context, envelope.device, envelope.body)
        elif envelope.type == "device.config_applied" and envelope.body.get("applied"):
            self._registry().record_applied(context.tx, envelope.device, int(envelope.body["version"]),
                                            context.now_ms)

    def _selftest(self, context: HandlerContext, device: str, body: dict[str, Any]) -> None:
        registry = self._registry()
        transition = registry.selftest_transition(context.tx, device, body, context.now_ms)
        failed = [f"{s['name']}: {s['reason']}" for s in body.get("steps", []) if not s.get("passed")]
        if transition is not None:
            context.emit("device.state_changed", _transition_body(transition))
            log.info("device %s passed its self-test: now active", device)
        elif body.get("passed"):
            log.info("device %s passed its self-test", device)
        else:
            log.warning("device %s FAILED its self-test: %s", device, "; ".join(failed) or "no reason given")
        row = context.tx.execute("SELECT state FROM registry WHERE device = ?", (device,)).fetchone()
        state = row[0] if row else "unknown"
        reply = {"command": SELFTEST_RESULT, "device": device, "passed": bool(body.get("passed")),
                 "state": state, "failed": failed}
        context.publish_after_commit(device_topic(self.hall, device, Channel.CMD), json.dumps(reply))


BrokerReload = Callable[[], bool]


def broker_reload_from_env() -> BrokerReload:
    """How this gateway makes its broker reread passwords and ACL: `HALLWATCH_BROKER_RELOAD`
    is `systemd:<unit>` (the default, hallwatch-broker.service), `pid:<pid>` or `none`."""
    from spine.broker.security import reload_pid, systemd_reload

    spec = os.environ.get("HALLWATCH_BROKER_RELOAD", "systemd:hallwatch-broker.service")
    method, _, arg = spec.partition(":")
    if method == "pid":
        return lambda: reload_pid(int(arg))
    if method == "none":
        return lambda: False
    return lambda: systemd_reload(arg or "hallwatch-broker.service")


class RegistrySync:
    """The gateway's `registry.sync` command: apply central's hall registry, rewrite the
    broker's password file and ACL, reload the broker (SIGHUP), republish configurations."""

    def __init__(self, service: GatewayService, broker_dir: Path, reload: BrokerReload) -> None:
        self.service = service
        self.broker_dir = broker_dir
        self.reload = reload
        self._lock = threading.Lock()

    def __call__(self, command: dict[str, Any]) -> None:
        try:
            state = HallState.model_validate(command)
        except ValidationError as exc:
            log.error("ignoring a malformed registry sync: %s", exc.errors()[:1])
            return
        if state.hall != self.service.hall:
            log.error("ignoring a registry sync for hall %s (this gateway serves %s)", state.hall,
                      self.service.hall)
            return
        with self._lock:
            self.apply(state)
        log.info("registry version %d applied: %s", state.version, state.summary()["devices"])

    def apply(self, state: HallState) -> bool:
        from spine.broker.security import write_access_files

        registry = self.service.registry
        if state.version < registry.sync_version():
            log.warning("ignoring registry version %d: version %d is already applied", state.version,
                        registry.sync_version())
            return False

        def work(context: HandlerContext) -> list[str]:
            transitions, republish = registry.apply_state(context.tx, state, context.now_ms)
            for transition in transitions:
                context.emit("device.state_changed", _transition_body(transition))
            return republish

        republish: list[str] = self.service.store.run_in_transaction(work)
        # Access files after the registry: a device the gateway refuses may still be
        # connected for a moment, never the other way round.
        write_access_files(self.broker_dir, hall_accounts(state))
        self.reload()
        for device in republish:
            self.service.publish(device_topic(self.service.hall, device, Channel.CONFIG),
                                 registry.config_payload(device), retain=True)
        return True


def attach_provisioning(service: GatewayService) -> dict[str, Callable[[dict[str, Any]], None]]:
    """Wire provisioning into a gateway: the registry's event handler, and its commands.

    The broker's auth files are in `HALLWATCH_BROKER_DIR`, else `broker/` beside the store.
    """
    service.store.handlers.append(RegistryHandler(service.hall, lambda: service.registry))
    broker_dir = Path(os.environ.get("HALLWATCH_BROKER_DIR") or service.config.store_path.parent / "broker")
    return {"registry.sync": RegistrySync(service, broker_dir, broker_reload_from_env())}

