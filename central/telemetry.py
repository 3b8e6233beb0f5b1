"""Hall telemetry at central: which devices are up, when each was last seen, their health and losses.

Fed by the events the gateways forward (`device.online`, `device.offline`,
`device.dropped`, `device.clock_skew`, `gateway.dead_letter`, the security
alarms `security.refused` and `security.released`, and the health reports of
printers and recorders) and by each gateway's live heartbeat, which carries
its presence table. The event log is the record; the heartbeat is only the
freshest view of it. Refusals are counted per device from `central.alarms`,
which also holds the ones central refused itself.

Its statements are written once for SQLite and PostgreSQL (`spine.statement`);
on PostgreSQL its tables are made by `central/migrations` (revision 0002).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    delete,
    func,
    select,
    update,
)

from central.alarms import SecurityAlarm, record_alarm, refusals_by_device, refused_at_central
from central.projection import Projection, event_time
from central.store import HALL_STATUS, TABLES, CentralStore
from contract.envelope import Envelope
from contract.topics import parse_central_topic
from spine.statement import Statement, Tx, insert_for

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


TELEMETRY_TABLES = MetaData()
TM_DEVICES = Table(
    "tm_devices", TELEMETRY_TABLES,
    Column("hall", Text, primary_key=True),
    Column("device", Text, primary_key=True),
    Column("kind", Text),
    Column("online", Integer, nullable=False, server_default="0"),
    Column("since", BigInteger),
    Column("last_seen", BigInteger),
    Column("reason", Text),
    Column("dropped", BigInteger, nullable=False, server_default="0"),
    Column("skew_ms", BigInteger),
    Column("skewed", Integer, nullable=False, server_default="0"),
)
TM_HEALTH = Table(
    "tm_health", TELEMETRY_TABLES,
    Column("hall", Text, primary_key=True),
    Column("device", Text, primary_key=True),
    Column("component", Text, primary_key=True),
    Column("state", Text, nullable=False),
    Column("detail", Text),
    Column("at", BigInteger, nullable=False),
)
TM_GATEWAY_REFUSALS = Table(
    "tm_gateway_refusals", TELEMETRY_TABLES,
    Column("hall", Text, primary_key=True),
    Column("refused", BigInteger, nullable=False),
)
TM_QUARANTINE = Table(
    "tm_quarantine", TELEMETRY_TABLES,
    Column("hall", Text, primary_key=True),
    Column("device", Text, primary_key=True),
    Column("since", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
)
"""`SCHEMA` in SQLAlchemy Core: the statements' tables, and what migration 0002 makes on PostgreSQL."""

_DEVICE_SEEN = Statement(lambda dialect: insert_for(dialect, TM_DEVICES).values(
    hall=bindparam("hall"), device=bindparam("device")).on_conflict_do_nothing())
_DROPPED = Statement(lambda _dialect: update(TM_DEVICES).where(
    TM_DEVICES.c.hall == bindparam("w_hall"), TM_DEVICES.c.device == bindparam("w_device")
).values(dropped=TM_DEVICES.c.dropped + bindparam("v_total")))
_RELEASED = Statement(lambda _dialect: delete(TM_QUARANTINE).where(
    TM_QUARANTINE.c.hall == bindparam("hall"), TM_QUARANTINE.c.device == bindparam("device")))
_QUARANTINED = Statement(lambda dialect: insert_for(dialect, TM_QUARANTINE).values(
    {name: bindparam(name) for name in ("hall", "device", "since", "reason")}).on_conflict_do_nothing())


def _gateway_refused(dialect: str) -> Any:
    insert = insert_for(dialect, TM_GATEWAY_REFUSALS).values(hall=bindparam("hall"), refused=1)
    return insert.on_conflict_do_update(index_elements=["hall"],
                                        set_={"refused": TM_GATEWAY_REFUSALS.c.refused + 1})


def _health_reported(dialect: str) -> Any:
    insert = insert_for(dialect, TM_HEALTH).values(
        {name: bindparam(name) for name in ("hall", "device", "component", "state", "detail", "at")})
    # Reports can arrive out of order (a replay, a resend): an older one never overwrites a newer.
    return insert.on_conflict_do_update(
        index_elements=["hall", "device", "component"],
        set_={"state": insert.excluded.state, "detail": insert.excluded.detail, "at": insert.excluded.at},
        where=insert.excluded.at >= TM_HEALTH.c.at)


_GATEWAY_REFUSED = Statement(_gateway_refused)
_HEALTH_REPORTED = Statement(_health_reported)
_DEVICE_UPDATES: dict[tuple[str, ...], Statement] = {}
"""One UPDATE of tm_devices per set of columns an event sets (a handful), built on first use."""


def _device_update(columns: tuple[str, ...]) -> Statement:
    if columns not in _DEVICE_UPDATES:
        # A kind once known is kept when an event does not say it.
        values: dict[str, Any] = {
            name: func.coalesce(bindparam(f"v_{name}"), TM_DEVICES.c[name]) if name == "kind"
            else bindparam(f"v_{name}") for name in columns}
        _DEVICE_UPDATES[columns] = Statement(lambda _dialect: update(TM_DEVICES).where(
            TM_DEVICES.c.hall == bindparam("w_hall"), TM_DEVICES.c.device == bindparam("w_device")
        ).values(values))
    return _DEVICE_UPDATES[columns]


_STATUSES = Statement(lambda _dialect: select(
    HALL_STATUS.c.hall, HALL_STATUS.c.online, HALL_STATUS.c.reason, HALL_STATUS.c.last_seen,
    HALL_STATUS.c.heartbeat))
_DEVICES = Statement(lambda _dialect: select(
    *(TM_DEVICES.c[name] for name in ("hall", "device", "kind", "online", "since", "last_seen", "reason",
                                       "dropped", "skew_ms", "skewed"))
).order_by(TM_DEVICES.c.hall, TM_DEVICES.c.device))
_HEALTH = Statement(lambda _dialect: select(
    TM_HEALTH.c.hall, TM_HEALTH.c.device, TM_HEALTH.c.component, TM_HEALTH.c.state, TM_HEALTH.c.detail,
    TM_HEALTH.c.at).order_by(TM_HEALTH.c.component))
_GATEWAY_REFUSALS = Statement(lambda _dialect: select(TM_GATEWAY_REFUSALS.c.hall,
                                                     TM_GATEWAY_REFUSALS.c.refused))
_QUARANTINE = Statement(lambda _dialect: select(TM_QUARANTINE.c.hall, TM_QUARANTINE.c.device))
_DEAD = TABLES.tables["dead_letters"]
_DEAD_BY_TOPIC = Statement(lambda _dialect: select(_DEAD.c.topic, func.count()).where(
    _DEAD.c.topic.like("central/%")).group_by(_DEAD.c.topic))
"""Dead letters per topic; the hall is read from the topic in Python (`parse_central_topic`),
which no string function spells the same in both databases."""


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


_TELEMETRY_TYPES = frozenset({
    "device.online", "device.offline", "device.dropped", "device.clock_skew", "gateway.dead_letter",
    "security.refused", "security.released"})
"""What `Telemetry.apply` reads besides the health reports (`HEALTH_READERS`)."""


class Telemetry(Projection):
    name = "telemetry"
    schema = SCHEMA
    portable = True

    def takes(self, type: str) -> bool:
        return type in _TELEMETRY_TYPES or type in HEALTH_READERS

    def apply(self, tx: Tx, hall: str, envelope: Envelope) -> None:
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
            _DROPPED.run(tx, {"v_total": int(body.get("total", 0)), "w_hall": hall,
                              "w_device": envelope.device})
        elif kind == "device.clock_skew":
            self._upsert(tx, hall, body["device"], skew_ms=body.get("skew_ms"),
                         skewed=int(body.get("state") == "skewed"))
        elif kind == "gateway.dead_letter":
            _GATEWAY_REFUSED.run(tx, {"hall": hall})
        elif kind == "security.refused":
            self._refused(tx, hall, envelope.id, at, body)
        elif kind == "security.released":
            _RELEASED.run(tx, {"hall": hall, "device": body["device"]})
        reader = HEALTH_READERS.get(kind)
        if reader is not None:
            for report in reader(body):
                _HEALTH_REPORTED.run(tx, {"hall": hall, "device": envelope.device,
                                          "component": report.component, "state": report.state,
                                          "detail": report.detail, "at": at})

    def _refused(self, tx: Tx, hall: str, event_id: str, at: int,
                 body: dict[str, Any]) -> None:
        device = body.get("device")
        record_alarm(tx, SecurityAlarm(alarm=event_id, at=at, refused_by="gateway", hall=hall, device=device,
                                       kind=body.get("kind"), type=body.get("type"), reason=body["reason"],
                                       quarantined=bool(body.get("quarantined"))))
        if device is None:
            return
        self._upsert(tx, hall, device, kind=body.get("kind"))
        if body.get("quarantined"):
            _QUARANTINED.run(tx, {"hall": hall, "device": device, "since": at, "reason": body["reason"]})

    @staticmethod
    def _upsert(tx: Tx, hall: str, device: str, **values: Any) -> None:
        _DEVICE_SEEN.run(tx, {"hall": hall, "device": device})
        if values:
            _device_update(tuple(values)).run(
                tx, {"w_hall": hall, "w_device": device, **{f"v_{k}": v for k, v in values.items()}})


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
    return store.read(lambda tx: _hall_views(tx, hall))


def _hall_views(tx: Tx, hall: str | None) -> list[HallView]:
    statuses = {row[0]: tuple(row[1:]) for row in _STATUSES.run(tx).fetchall()}
    devices: dict[str, dict[str, dict[str, Any]]] = {}
    for row in _DEVICES.run(tx).fetchall():
        devices.setdefault(row[0], {})[row[1]] = {
            "kind": row[2], "online": bool(row[3]), "since": row[4], "last_seen": row[5],
            "reason": row[6], "dropped": row[7], "skew_ms": row[8], "skewed": bool(row[9]),
        }
    health: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for h, device, component, state, detail, at in _HEALTH.run(tx).fetchall():
        health.setdefault((h, device), []).append(
            {"component": component, "state": state, "detail": detail, "at": at})
    refused = {h: n for h, n in _GATEWAY_REFUSALS.run(tx).fetchall()}
    alarms = refusals_by_device(tx)
    quarantined = {(h, d) for h, d in _QUARANTINE.run(tx).fetchall()}
    for h, d in alarms.keys() | quarantined:
        devices.setdefault(h, {}).setdefault(d, _blank())
    at_central = refused_at_central(tx)
    dead: dict[str, int] = {}
    for topic, count in _DEAD_BY_TOPIC.run(tx).fetchall():
        parsed = parse_central_topic(topic)
        if parsed is not None:
            dead[parsed[0]] = dead.get(parsed[0], 0) + int(count)

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
