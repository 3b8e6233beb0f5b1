"""Hall telemetry at central: which devices are up, when each was last seen, their health and losses.

Fed by the events the gateways forward (`device.online`, `device.offline`,
`device.dropped`, `device.clock_skew`, `gateway.dead_letter`, the security
alarms `security.refused` and `security.released`, and the health reports of
printers and recorders) and by each gateway's live heartbeat, which carries
its presence table. The event log is the record; the heartbeat is only the
freshest view of it. Refusals are counted per device from `central.alarms`,
which also holds the ones central refused itself.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from central.alarms import SecurityAlarm, record_alarm, refusals_by_device, refused_at_central
from central.projection import Projection, event_time
from central.store import CentralStore
from contract.envelope import Envelope

SCHEMA = """
CREATE TABLE IF NOT EXISTS tm_devices (
    hall TEXT NOT NULL,
    device TEXT NOT NULL,
    kind TEXT,
    online INTEGER NOT NULL DEFAULT 0,
    since INTEGER,
    last_seen INTEGER,
    reason TEXT,
    dropped INTEGER NOT NULL DEFAULT 0,
    skew_ms INTEGER,
    skewed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hall, device)
);
CREATE TABLE IF NOT EXISTS tm_health (
    hall TEXT NOT NULL,
    device TEXT NOT NULL,
    component TEXT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT,
    at INTEGER NOT NULL,
    PRIMARY KEY (hall, device, component)
);
CREATE TABLE IF NOT EXISTS tm_gateway_refusals (
    hall TEXT PRIMARY KEY,
    refused INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tm_quarantine (
    hall TEXT NOT NULL,
    device TEXT NOT NULL,
    since INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (hall, device)
);
"""


@dataclass(frozen=True)
class HealthReport:
    """One component's state as a device reported it: a printer out of paper, a camera stalled."""

    component: str
    state: str
    detail: str | None = None


HealthReader = Callable[[dict[str, Any]], list[HealthReport]]

# Event types whose body reports a component's health, with how to read it. The
# queue kiosk (printer) and the recorder (cameras, disk) add theirs here.
HEALTH_READERS: dict[str, HealthReader] = {}


def health_reader(event_type: str) -> Callable[[HealthReader], HealthReader]:
    def register(reader: HealthReader) -> HealthReader:
        HEALTH_READERS[event_type] = reader
        return reader

    return register


class Telemetry(Projection):
    name = "telemetry"
    schema = SCHEMA

    def apply(self, tx: sqlite3.Connection, hall: str, envelope: Envelope) -> None:
        body = envelope.body
        at = event_time(envelope)
        kind = envelope.type
        if kind == "device.online":
            self._upsert(tx, hall, body["device"], online=1, since=at, last_seen=at, reason=None,
                         kind=body.get("kind"))
        elif kind == "device.offline":
            self._upsert(tx, hall, body["device"], online=0, since=at,
                         last_seen=body.get("last_seen") or at, reason=body.get("reason"))
        elif kind == "device.dropped":
            self._upsert(tx, hall, envelope.device)
            tx.execute("UPDATE tm_devices SET dropped = dropped + ? WHERE hall = ? AND device = ?",
                       (int(body.get("total", 0)), hall, envelope.device))
        elif kind == "device.clock_skew":
            self._upsert(tx, hall, body["device"], skew_ms=body.get("skew_ms"),
                         skewed=int(body.get("state") == "skewed"))
        elif kind == "gateway.dead_letter":
            tx.execute(
                "INSERT INTO tm_gateway_refusals (hall, refused) VALUES (?, 1) "
                "ON CONFLICT (hall) DO UPDATE SET refused = refused + 1", (hall,))
        elif kind == "security.refused":
            self._refused(tx, hall, envelope.id, at, body)
        elif kind == "security.released":
            tx.execute("DELETE FROM tm_quarantine WHERE hall = ? AND device = ?", (hall, body["device"]))
        reader = HEALTH_READERS.get(kind)
        if reader is not None:
            for report in reader(body):
                tx.execute(
                    "INSERT INTO tm_health (hall, device, component, state, detail, at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (hall, device, component) DO UPDATE SET "
                    "state = excluded.state, detail = excluded.detail, at = excluded.at "
                    "WHERE excluded.at >= tm_health.at",
                    (hall, envelope.device, report.component, report.state, report.detail, at),
                )

    def _refused(self, tx: sqlite3.Connection, hall: str, event_id: str, at: int,
                 body: dict[str, Any]) -> None:
        device = body.get("device")
        record_alarm(tx, SecurityAlarm(alarm=event_id, at=at, refused_by="gateway", hall=hall, device=device,
                                       kind=body.get("kind"), type=body.get("type"), reason=body["reason"],
                                       quarantined=bool(body.get("quarantined"))))
        if device is None:
            return
        self._upsert(tx, hall, device, kind=body.get("kind"))
        if body.get("quarantined"):
            tx.execute("INSERT OR IGNORE INTO tm_quarantine (hall, device, since, reason) "
                       "VALUES (?, ?, ?, ?)", (hall, device, at, body["reason"]))

    @staticmethod
    def _upsert(tx: sqlite3.Connection, hall: str, device: str, **values: Any) -> None:
        tx.execute("INSERT OR IGNORE INTO tm_devices (hall, device) VALUES (?, ?)", (hall, device))
        if values:
            assignments = ", ".join(
                f"{column} = coalesce(?, {column})" if column == "kind" else f"{column} = ?"
                for column in values
            )
            tx.execute(f"UPDATE tm_devices SET {assignments} WHERE hall = ? AND device = ?",
                       (*values.values(), hall, device))


@dataclass(frozen=True)
class DeviceHealthView:
    device: str
    kind: str | None
    online: bool
    since: int | None
    last_seen: int | None
    reason: str | None
    dropped: int
    skew_ms: int | None
    skewed: bool
    health: list[dict[str, Any]]
    refused: int = 0
    """Its facts refused as beyond its authority, at its gateway or at central."""
    quarantined: bool = False
    """Its gateway stopped listening to it until a technician releases it."""


@dataclass(frozen=True)
class HallView:
    hall: str
    gateway_online: bool | None
    gateway_last_seen: int | None
    gateway_reason: str | None
    devices: list[DeviceHealthView]
    ingest: dict[str, int]
    dead_letters_at_central: int
    refused_at_gateway: int
    forward_backlog: int | None
    """Events waiting in the gateway's outbox for central, as of its last heartbeat."""
    refused_at_central: int = 0
    """The gateway's forwarded facts central refused as beyond their author's authority."""

    @property
    def devices_online(self) -> int:
        return sum(1 for d in self.devices if d.online)


def hall_views(store: CentralStore, hall: str | None = None) -> list[HallView]:
    """Every hall's devices and link health; the gateway's latest heartbeat refreshes presence."""
    statuses = {row[0]: row[1:] for row in store.query(
        "SELECT hall, online, reason, last_seen, heartbeat FROM hall_status")}
    devices: dict[str, dict[str, dict[str, Any]]] = {}
    for row in store.query(
        "SELECT hall, device, kind, online, since, last_seen, reason, dropped, skew_ms, skewed "
        "FROM tm_devices ORDER BY hall, device"
    ):
        devices.setdefault(row[0], {})[row[1]] = {
            "kind": row[2], "online": bool(row[3]), "since": row[4], "last_seen": row[5],
            "reason": row[6], "dropped": row[7], "skew_ms": row[8], "skewed": bool(row[9]),
        }
    health: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for h, device, component, state, detail, at in store.query(
        "SELECT hall, device, component, state, detail, at FROM tm_health ORDER BY component"
    ):
        health.setdefault((h, device), []).append(
            {"component": component, "state": state, "detail": detail, "at": at})
    refused = dict(store.query("SELECT hall, refused FROM tm_gateway_refusals"))
    alarms = refusals_by_device(store.query)
    quarantined = {(h, d) for h, d in store.query("SELECT hall, device FROM tm_quarantine")}
    for h, d in alarms.keys() | quarantined:
        devices.setdefault(h, {}).setdefault(d, _blank())
    at_central = refused_at_central(store.query)
    dead = dict(store.query(
        "SELECT substr(topic, 9, instr(substr(topic, 9), '/') - 1), count(*) FROM dead_letters "
        "WHERE topic LIKE 'central/%' GROUP BY 1"))

    halls = sorted(set(statuses) | set(devices) | set(refused) | set(at_central))
    views = []
    for name in halls:
        if hall is not None and name != hall:
            continue
        by_device = devices.get(name, {})
        online, reason, last_seen, heartbeat = statuses.get(name, (None, None, None, None))
        beat = _parse(heartbeat)
        for live in beat.get("devices", []):
            _merge_live(by_device.setdefault(live["device"], _blank()), live)
        views.append(HallView(
            hall=name,
            gateway_online=None if online is None else bool(online),
            gateway_last_seen=last_seen,
            gateway_reason=reason,
            devices=[
                DeviceHealthView(device=d, health=health.get((name, d), []), refused=alarms.get((name, d), 0),
                                 quarantined=(name, d) in quarantined, **fields)
                for d, fields in sorted(by_device.items())
            ],
            ingest={k: int(v) for k, v in beat.get("ingest", {}).items() if isinstance(v, int)},
            dead_letters_at_central=int(dead.get(name, 0)),
            refused_at_gateway=int(refused.get(name, 0)),
            forward_backlog=beat.get("outbox_events") if isinstance(beat.get("outbox_events"), int)
            else None,
            refused_at_central=at_central.get(name, 0),
        ))
    return views


def recorders_of(store: CentralStore, hall: str) -> list[str]:
    """The recorder devices a hall has reported, online or not (a hold must reach them when back)."""
    views = hall_views(store, hall)
    return [d.device for v in views for d in v.devices if d.kind == "recorder"]


def _blank() -> dict[str, Any]:
    return {"kind": None, "online": False, "since": None, "last_seen": None, "reason": None,
            "dropped": 0, "skew_ms": None, "skewed": False}


def _merge_live(fields: dict[str, Any], live: dict[str, Any]) -> None:
    # The heartbeat is newer than any forwarded event about presence, unless
    # the event log saw the device later (a heartbeat can be a minute old).
    seen = live.get("last_seen")
    if seen is not None and (fields["last_seen"] is None or seen >= fields["last_seen"]):
        fields["online"] = bool(live.get("online"))
        fields["last_seen"] = seen
        if fields["online"]:
            fields["reason"] = None
    fields["kind"] = fields["kind"] or live.get("kind")
    if live.get("skew_ms") is not None:
        fields["skew_ms"] = live["skew_ms"]
        fields["skewed"] = bool(live.get("skewed"))


def _parse(heartbeat: str | None) -> dict[str, Any]:
    if not heartbeat:
        return {}
    try:
        data = json.loads(heartbeat)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@health_reader("queue.printer_status")
def _printer(body: dict[str, Any]) -> list[HealthReport]:
    return [HealthReport("printer", str(body.get("state", "unknown")), body.get("detail") or None)]


@health_reader("rating.terminal_fault")
def _keypad(body: dict[str, Any]) -> list[HealthReport]:
    """A rating terminal's keypad: a pulled RS-485 cable is as visible as a printer out of paper."""
    return [HealthReport("keypad", str(body.get("state", "unknown")), body.get("detail") or None)]
