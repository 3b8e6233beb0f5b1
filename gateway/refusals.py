"""A refusal is an alarm, not a log line: each one counted per device, reported to central, and
repeated ones quarantining the device.

Fed every dead letter the hall's receiver keeps for an author's overstep (a
`Refusal` with `alarm`), inside the transaction that keeps it: the refusal is
counted for its device, a `security.refused` event goes to central (the hall's
telemetry and the big screen's alarm list show it), and with `[security]
quarantine_after` set, the refusal that reaches that count within
`quarantine_window_s` quarantines the device. Releases a technician made at the
gateway are recorded as `security.released` by `report_releases`.
"""

from __future__ import annotations

import logging

from gateway.config import SecuritySettings
from gateway.registry import quarantine
from gateway.registry.store import DeviceRegistry
from spine.handlers import HandlerContext
from spine.receiver import DeadLetter

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS security_refusals (
    id INTEGER PRIMARY KEY,
    device TEXT,
    at INTEGER NOT NULL,
    type TEXT,
    event_id TEXT,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS security_refusals_by_device ON security_refusals (device, at);
"""


class RefusalDesk:
    """Counts, reports and (optionally) quarantines; built by gateway.service."""

    def __init__(self, settings: SecuritySettings, registry: DeviceRegistry) -> None:
        self.settings = settings
        self.registry = registry

    def refused(self, context: HandlerContext, letter: DeadLetter) -> None:
        """Inside the transaction that keeps `letter`."""
        if not letter.alarm:
            return
        tx, device = context.tx, letter.sender
        tx.execute("INSERT INTO security_refusals (device, at, type, event_id, reason) "
                   "VALUES (?, ?, ?, ?, ?)",
                   (device, context.now_ms, letter.event_type, letter.event_id, letter.reason[:500]))
        # A release starts the count afresh: the technician looked at what came before.
        since = max(context.now_ms - int(self.settings.quarantine_window_s * 1000),
                    quarantine.last_release(tx, device) if device is not None else 0)
        (count,) = tx.execute("SELECT count(*) FROM security_refusals WHERE device IS ? AND at > ?",
                              (device, since)).fetchone()
        limit = self.settings.quarantine_after
        quarantined = bool(
            device is not None and limit and count >= limit and self.registry.quarantine(
                tx, device, f"{count} refused facts within {self.settings.quarantine_window_s:.0f} s; "
                f"the last: {letter.reason[:200]}", context.now_ms))
        registered = self.registry.get(device) if device is not None else None
        log.error("SECURITY: refused %s from %s: %s%s", letter.event_type or "a batch", device, letter.reason,
                  " -- device quarantined" if quarantined else "")
        context.emit("security.refused", {
            "device": device, "kind": registered.kind if registered else None, "type": letter.event_type,
            "event_id": letter.event_id, "reason": letter.reason[:500], "refusals": int(count),
            "quarantined": quarantined,
        })

    def report_releases(self, context: HandlerContext) -> int:
        """Record the releases a technician made since the last call; how many there were."""
        releases = quarantine.unreported_releases(context.tx)
        for release in releases:
            context.emit("security.released", {"device": release.device, "by": release.by,
                                               "reason": release.reason, "quarantined_at": release.since})
            quarantine.mark_reported(context.tx, release.id)
            log.warning("device %s released from quarantine by %s", release.device, release.by)
        if releases:
            self.registry.mark_stale()
        return len(releases)
