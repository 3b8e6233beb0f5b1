"""Security alarms at central: every fact refused because its author may not state it, wherever.

Three places refuse: a hall's gateway (its devices; reported as
`security.refused` and read by the telemetry projection), central's ingest
(a gateway's events) and central's API (an approval system's token). Each
refusal is one row here, which the hall's telemetry counts per device and the
big screen lists newest first (docs/security.md). Rows are keyed, so a
projection replaying the event log adds none twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    func,
    literal_column,
    select,
)

from central.reads import Source, rows
from spine.statement import Statement, Tx, insert_for

SCHEMA = """
CREATE TABLE IF NOT EXISTS security_alarms (
    alarm TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    refused_by TEXT NOT NULL,
    hall TEXT,
    device TEXT,
    kind TEXT,
    type TEXT,
    reason TEXT NOT NULL,
    quarantined INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS security_alarms_by_time ON security_alarms (at);
CREATE INDEX IF NOT EXISTS security_alarms_by_device ON security_alarms (hall, device);
"""

RefusedBy = Literal["gateway", "central", "api"]


@dataclass(frozen=True)
class SecurityAlarm:
    """One refused fact: where it was refused, whose it was, what it was and why."""

    alarm: str
    at: int
    refused_by: RefusedBy
    hall: str | None
    device: str | None
    kind: str | None
    type: str | None
    reason: str
    quarantined: bool = False


ALARM_TABLES = MetaData()
SECURITY_ALARMS = Table(
    "security_alarms", ALARM_TABLES,
    Column("alarm", Text, primary_key=True),
    Column("at", BigInteger, nullable=False),
    Column("refused_by", Text, nullable=False),
    Column("hall", Text),
    Column("device", Text),
    Column("kind", Text),
    Column("type", Text),
    Column("reason", Text, nullable=False),
    Column("quarantined", Integer, nullable=False, server_default="0"),
    Index("security_alarms_by_time", "at"),
    Index("security_alarms_by_device", "hall", "device"),
)
"""`SCHEMA` in SQLAlchemy Core, for a store on PostgreSQL."""

_RECORD = Statement(lambda dialect: insert_for(dialect, SECURITY_ALARMS).values(
    {name: bindparam(name) for name in ("alarm", "at", "refused_by", "hall", "device", "kind", "type",
                                        "reason", "quarantined")}
).on_conflict_do_nothing(index_elements=["alarm"]))


def record_alarm(tx: Tx, alarm: SecurityAlarm) -> None:
    """Keep an alarm once (a replayed refusal finds its row already there)."""
    _RECORD.run(tx, {"alarm": alarm.alarm, "at": alarm.at, "refused_by": alarm.refused_by,
                     "hall": alarm.hall, "device": alarm.device, "kind": alarm.kind, "type": alarm.type,
                     "reason": alarm.reason[:500], "quarantined": int(alarm.quarantined)})


def _latest(one_hall: bool) -> Statement:
    # Alarms of one instant, the last kept first: SQLite's rowid, PostgreSQL's `kept` (revision 0004).
    return Statement(lambda dialect: select(*(SECURITY_ALARMS.c[name] for name in _ALARM_COLUMNS)).where(
        *([SECURITY_ALARMS.c.hall == bindparam("hall")] if one_hall else [])).order_by(
        SECURITY_ALARMS.c.at.desc(), literal_column("rowid" if dialect == "sqlite" else "kept").desc()
    ).limit(bindparam("limit")))


_ALARM_COLUMNS = ("alarm", "at", "refused_by", "hall", "device", "kind", "type", "reason", "quarantined")
_LATEST = {one: _latest(one) for one in (False, True)}


def latest_alarms(read: Source, hall: str | None = None, limit: int = 20) -> list[SecurityAlarm]:
    """The newest alarms first, of one hall or of all (API refusals belong to no hall)."""
    params: dict[str, object] = {"limit": limit} if hall is None else {"hall": hall, "limit": limit}
    found = rows(read, _LATEST[hall is not None], params)
    return [SecurityAlarm(alarm, at, refused_by, hall, device, kind, type, reason, bool(quarantined))
            for alarm, at, refused_by, hall, device, kind, type, reason, quarantined in found]


_BY_DEVICE = Statement(lambda _dialect: select(
    SECURITY_ALARMS.c.hall, SECURITY_ALARMS.c.device, func.count()
).where(SECURITY_ALARMS.c.hall.is_not(None), SECURITY_ALARMS.c.device.is_not(None)).group_by(
    SECURITY_ALARMS.c.hall, SECURITY_ALARMS.c.device))
_AT_CENTRAL = Statement(lambda _dialect: select(SECURITY_ALARMS.c.hall, func.count()).where(
    SECURITY_ALARMS.c.refused_by == bindparam("refused_by")).group_by(SECURITY_ALARMS.c.hall))


def refusals_by_device(tx: Tx) -> dict[tuple[str, str], int]:
    """(hall, device) -> how many of its facts were refused, at its gateway or at central."""
    return {(hall, device): int(count) for hall, device, count in _BY_DEVICE.run(tx).fetchall()}


def refused_at_central(tx: Tx) -> dict[str, int]:
    """hall -> how many of its gateway's forwarded facts central refused."""
    rows = _AT_CENTRAL.run(tx, {"refused_by": "central"}).fetchall()
    return {hall: int(count) for hall, count in rows}
