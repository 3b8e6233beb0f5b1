"""Footage holds for complaints: asked of every recorder of the hall, resent until each confirms.

A hold keeps one window's footage of the visit past the recorders' 30-day ring
buffer. Its id is its complaint's, so a resent command holds once; the
recorder reports each hold it placed as a `recorder.hold` event
(`hold_id` = ours, or ours + ':' + camera), which confirms it here.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

from central.complaints import log as complaint_log
from central.complaints.log import Read, iso
from central.projection import event_time
from contract.commands.recorder import HoldRequest, RecorderHold
from contract.commands.relay import routed
from contract.envelope import Envelope

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


def request(tx: sqlite3.Connection, wanted: FootageRequest, recorders: list[str], now: int,
            actor: str) -> None:
    """Record a hold for each recorder of the hall (sent after the commit), or why there is none."""
    complaint, hall = wanted.complaint, wanted.hall
    if not recorders:
        log.warning("complaint %s: hall %s has no recorder on record; footage not held", complaint, hall)
        complaint_log.append(tx, complaint, "complaint.hold_impossible", now, "central",
                   {"reason": f"hall {hall} has no recorder on record"})
    for device in recorders:
        complaint_log.append(tx, complaint, "complaint.hold_requested", now, actor, {
            "device": device, "window": wanted.window, "start": wanted.start, "end": wanted.end})
        tx.execute(
            "INSERT OR IGNORE INTO complaint_holds (hold, complaint, hall, device, window, "
            "start_ms, end_ms, requested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (complaint, complaint, hall, device, wanted.window, wanted.start, wanted.end, now),
        )


def unconfirmed_commands(read: Read, complaint: str, hold_days: int) -> list[tuple[str, dict[str, Any]]]:
    """(hall, command) for every hold of the complaint no recorder has confirmed yet."""
    until_ms = hold_days * 86_400_000
    return [
        (hall, hold_command(hold, device, window, start, end, end + until_ms, complaint))
        for hold, hall, device, window, start, end in read(
            "SELECT hold, hall, device, window, start_ms, end_ms FROM complaint_holds "
            "WHERE complaint = ? AND confirmed_at IS NULL", (complaint,))
    ]


def due_again(tx: sqlite3.Connection, now: int, retry_ms: int) -> list[str]:
    """Complaints with a hold unconfirmed for `retry_ms` since its last send; counts the resend."""
    stale = [row[0] for row in tx.execute(
        "SELECT DISTINCT complaint FROM complaint_holds WHERE confirmed_at IS NULL "
        "AND attempts < ? AND requested_at + attempts * ? <= ?",
        (MAX_HOLD_ATTEMPTS, retry_ms, now)).fetchall()]
    for complaint in stale:
        tx.execute("UPDATE complaint_holds SET attempts = attempts + 1 "
                   "WHERE complaint = ? AND confirmed_at IS NULL", (complaint,))
    return stale


def confirm(tx: sqlite3.Connection, hall: str, envelope: Envelope) -> None:
    """A recorder's `recorder.hold` event: mark our hold placed, with its cameras."""
    body = envelope.body
    if envelope.type != HOLD_CONFIRMATION or body.get("state") != "active":
        return
    # A window's hold is placed on each camera covering it, as `<hold>:<camera>`.
    hold = str(body.get("hold_id", "")).split(":", 1)[0]
    row = tx.execute(
        "SELECT cameras FROM complaint_holds WHERE hold = ? AND device = ? AND hall = ?",
        (hold, envelope.device, hall),
    ).fetchone()
    if row is None:
        return  # a hold placed by a technician by hand, not for a complaint
    cameras = sorted(set(json.loads(row[0] or "[]")) | {str(body.get("camera"))})
    at = event_time(envelope)
    tx.execute(
        "UPDATE complaint_holds SET confirmed_at = coalesce(confirmed_at, ?), cameras = ?, "
        "held_segments = held_segments + ? WHERE hold = ? AND device = ? AND hall = ?",
        (at, json.dumps(cameras), int(body.get("held_segments", 0)), hold, envelope.device, hall),
    )
    # A hold's id is its complaint's id, so the confirmation lands in that complaint's log.
    complaint_log.append(tx, hold, "complaint.hold_confirmed", at, envelope.device, {
        "device": envelope.device, "camera": body.get("camera"), "hold_id": body.get("hold_id"),
        "until": body.get("until"), "event": envelope.id})


def listed(read: Read, complaint: str) -> list[dict[str, Any]]:
    """A complaint's holds, one per recorder, as the API shows them."""
    return [
        {"device": device, "window": window, "start": iso(start), "end": iso(end),
         "requested_at": iso(requested), "attempts": attempts,
         "confirmed_at": iso(confirmed) if confirmed is not None else None,
         "cameras": json.loads(cameras or "[]"), "held_segments": segments}
        for device, window, start, end, requested, attempts, confirmed, cameras, segments in read(
            "SELECT device, window, start_ms, end_ms, requested_at, attempts, confirmed_at, "
            "cameras, held_segments FROM complaint_holds WHERE complaint = ? ORDER BY device",
            (complaint,))
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
