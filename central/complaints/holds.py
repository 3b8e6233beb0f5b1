"""Footage holds for complaints: asked of every recorder of the hall, resent until each confirms.

A hold keeps one window's footage of the visit past the recorders' 30-day ring
buffer. Its id is its complaint's, so a resent command holds once; the
recorder reports each hold it placed as a `recorder.hold` event
(`hold_id` = ours, or ours + ':' + camera), which confirms it here. Its
statements are written once for SQLite and PostgreSQL (`spine.statement`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, Text, bindparam, func, select, update

from central.complaints import log as complaint_log
from central.complaints.log import iso
from central.projection import event_time
from central.reads import Source, rows
from contract.commands.recorder import HoldRequest, RecorderHold
from contract.commands.relay import routed
from contract.envelope import Envelope
from spine.statement import Statement, Tx, insert_for

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS complaint_holds (
    hold TEXT NOT NULL,
    complaint TEXT NOT NULL,
    hall TEXT NOT NULL,
    device TEXT NOT NULL,
    window TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    requested_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    confirmed_at INTEGER,
    cameras TEXT,
    held_segments INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hold, device)
);
"""

HOLD_TABLES = MetaData()
COMPLAINT_HOLDS = Table(
    "complaint_holds", HOLD_TABLES,
    Column("hold", Text, primary_key=True),
    Column("complaint", Text, nullable=False),
    Column("hall", Text, nullable=False),
    Column("device", Text, primary_key=True),
    Column("window", Text, nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    Column("requested_at", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="1"),
    Column("confirmed_at", BigInteger),
    Column("cameras", Text),
    Column("held_segments", BigInteger, nullable=False, server_default="0"),
)
"""`SCHEMA` in SQLAlchemy Core (made on PostgreSQL by migration 0003)."""
_H = COMPLAINT_HOLDS.c
_REQUESTED = Statement(lambda dialect: insert_for(dialect, COMPLAINT_HOLDS).values(
    {name: bindparam(name) for name in ("hold", "complaint", "hall", "device", "window", "start_ms", "end_ms",
                                        "requested_at")}).on_conflict_do_nothing())
_UNCONFIRMED = Statement(lambda _dialect: select(
    _H.hold, _H.hall, _H.device, _H.window, _H.start_ms, _H.end_ms).where(
    _H.complaint == bindparam("complaint"), _H.confirmed_at.is_(None)))
_STALE = Statement(lambda _dialect: select(_H.complaint).distinct().where(
    _H.confirmed_at.is_(None), _H.attempts < bindparam("max_attempts"),
    _H.requested_at + _H.attempts * bindparam("retry_ms") <= bindparam("now")))
_RESENT = Statement(lambda _dialect: update(COMPLAINT_HOLDS).where(
    _H.complaint == bindparam("complaint"), _H.confirmed_at.is_(None)).values(attempts=_H.attempts + 1))
_HOLD = Statement(lambda _dialect: select(_H.cameras).where(
    _H.hold == bindparam("hold"), _H.device == bindparam("device"), _H.hall == bindparam("hall")))
_CONFIRMED = Statement(lambda _dialect: update(COMPLAINT_HOLDS).where(
    _H.hold == bindparam("w_hold"), _H.device == bindparam("w_device"), _H.hall == bindparam("w_hall")
).values(confirmed_at=func.coalesce(_H.confirmed_at, bindparam("v_at")), cameras=bindparam("v_cameras"),
         held_segments=_H.held_segments + bindparam("v_segments")))
_LISTED = Statement(lambda _dialect: select(
    _H.device, _H.window, _H.start_ms, _H.end_ms, _H.requested_at, _H.attempts, _H.confirmed_at, _H.cameras,
    _H.held_segments).where(_H.complaint == bindparam("complaint")).order_by(_H.device))

HOLD_CONFIRMATION = "recorder.hold"
"""The recorder's event for a hold it placed; its `hold_id` is ours, or ours + ':' + camera."""
MAX_HOLD_ATTEMPTS = 20
"""Resends of an unconfirmed hold before central stops and leaves it for a person to chase."""


@dataclass(frozen=True)
class FootageRequest:
    """The footage a complaint needs kept: one window of one hall, from `start` to `end` (ms)."""

    complaint: str
    hall: str
    window: str
    start: int
    end: int


def request(tx: Tx, wanted: FootageRequest, recorders: list[str], now: int,
            actor: str) -> None:
    """Record a hold for each recorder of the hall (sent after the commit), or why there is none."""
    complaint, hall = wanted.complaint, wanted.hall
    if not recorders:
        log.warning("complaint %s: hall %s has no recorder on record; footage not held", complaint, hall)
        complaint_log.LOG.append(tx, complaint, "complaint.hold_impossible", now, "central",
                   {"reason": f"hall {hall} has no recorder on record"})
    for device in recorders:
        complaint_log.LOG.append(tx, complaint, "complaint.hold_requested", now, actor, {
            "device": device, "window": wanted.window, "start": wanted.start, "end": wanted.end})
        _REQUESTED.run(tx, {"hold": complaint, "complaint": complaint, "hall": hall, "device": device,
                            "window": wanted.window, "start_ms": wanted.start, "end_ms": wanted.end,
                            "requested_at": now})


def unconfirmed_commands(read: Source, complaint: str, hold_days: int) -> list[tuple[str, dict[str, Any]]]:
    """(hall, command) for every hold of the complaint no recorder has confirmed yet."""
    until_ms = hold_days * 86_400_000
    return [
        (hall, hold_command(hold, device, window, start, end, end + until_ms, complaint))
        for hold, hall, device, window, start, end in rows(read, _UNCONFIRMED, {"complaint": complaint})
    ]


def due_again(tx: Tx, now: int, retry_ms: int) -> list[str]:
    """Complaints with a hold unconfirmed for `retry_ms` since its last send; counts the resend."""
    stale = [row[0] for row in _STALE.run(
        tx, {"max_attempts": MAX_HOLD_ATTEMPTS, "retry_ms": retry_ms, "now": now}).fetchall()]
    for complaint in stale:
        _RESENT.run(tx, {"complaint": complaint})
    return stale


def confirm(tx: Tx, hall: str, envelope: Envelope) -> None:
    """A recorder's `recorder.hold` event: mark our hold placed, with its cameras."""
    body = envelope.body
    if envelope.type != HOLD_CONFIRMATION or body.get("state") != "active":
        return
    # A window's hold is placed on each camera covering it, as `<hold>:<camera>`.
    hold = str(body.get("hold_id", "")).split(":", 1)[0]
    row = _HOLD.run(tx, {"hold": hold, "device": envelope.device, "hall": hall}).fetchone()
    if row is None:
        return  # a hold placed by a technician by hand, not for a complaint
    cameras = sorted(set(json.loads(row[0] or "[]")) | {str(body.get("camera"))})
    at = event_time(envelope)
    _CONFIRMED.run(tx, {"v_at": at, "v_cameras": json.dumps(cameras),
                        "v_segments": int(body.get("held_segments", 0)), "w_hold": hold,
                        "w_device": envelope.device, "w_hall": hall})
    # A hold's id is its complaint's id, so the confirmation lands in that complaint's log.
    complaint_log.LOG.append(tx, hold, "complaint.hold_confirmed", at, envelope.device, {
        "device": envelope.device, "camera": body.get("camera"), "hold_id": body.get("hold_id"),
        "until": body.get("until"), "event": envelope.id})


def listed(read: Source, complaint: str) -> list[dict[str, Any]]:
    """A complaint's holds, one per recorder, as the API shows them."""
    return [
        {"device": device, "window": window, "start": iso(start), "end": iso(end),
         "requested_at": iso(requested), "attempts": attempts,
         "confirmed_at": iso(confirmed) if confirmed is not None else None,
         "cameras": json.loads(cameras or "[]"), "held_segments": segments}
        for device, window, start, end, requested, attempts, confirmed, cameras, segments in rows(
            read, _LISTED, {"complaint": complaint})
    ]


def hold_command(
    hold: str, device: str, window: str, start: int, end: int, until: int, complaint: str
) -> dict[str, Any]:
    """The recorder's hold command (docs/recorder.md): keep this window's footage of [start, end].

    `device` routes it through the hall gateway; the hold id is the complaint's,
    so a resent command holds once.
    """
    request = HoldRequest.model_validate({
        "hold_id": hold, "window": window, "from": start, "to": end, "until": until,
        "who": "central complaint desk", "why": f"complaint {complaint}",
    })
    return routed(device, RecorderHold(id=hold, hold=request))
