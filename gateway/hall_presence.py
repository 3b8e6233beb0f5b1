"""The hall's presence as the running gateway keeps it: shared by the ingest, the handlers and the
heartbeat, its clock references saved across restarts, its changes recorded for central.

`HallPresence` is the `PresenceTracker` behind a lock, with each device's clock
reference saved in the gateway's file when it moves: after a restart, batches
the broker held for us are still dated by the device's monotonic clock rather
than by the moment they arrive. `PresenceReports` records what presence
emits (online, offline, clock skew) as gateway events, and marks devices that
went silent offline (`sweep`, run every second by the service).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from gateway.presence import ClockReference, Emitted, PresenceTracker
from spine.clock import Clock
from spine.database import Database

log = logging.getLogger(__name__)

CLOCK_REFERENCE_DRIFT_MS = 1000
"""Re-save a device's clock reference when it moves by more than this (NTP slews, latency)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS clock_references (device TEXT PRIMARY KEY, boot TEXT NOT NULL,
    mono_offset_ms INTEGER NOT NULL, skew_ms INTEGER NOT NULL);
"""

Record = Callable[[str, Mapping[str, Any]], None]


class HallPresence:
    """Thread-safe presence of the hall's devices, clock references restored from the gateway's file."""

    def __init__(self, tracker: PresenceTracker, db: Database) -> None:
        self._tracker = tracker
        self._db = db
        self._lock = threading.Lock()
        db.ensure_schema(SCHEMA)
        for device, boot, offset, skew in db.query("SELECT * FROM clock_references"):
            tracker.restore(device, ClockReference(boot, offset, skew))

    def on_traffic(self, device: str, now_ms: int) -> Emitted:
        return self._observe(device, lambda: self._tracker.on_traffic(device, now_ms))

    def on_status(self, device: str, status: dict[str, Any], now_ms: int) -> Emitted:
        return self._observe(device, lambda: self._tracker.on_status(device, status, now_ms))

    def on_heartbeat(self, device: str, beat: dict[str, Any], now_ms: int) -> Emitted:
        return self._observe(device, lambda: self._tracker.on_heartbeat(device, beat, now_ms))

    def sweep(self, now_ms: int) -> Emitted:
        with self._lock:
            return self._tracker.sweep(now_ms)

    def clock_reference(self, device: str) -> ClockReference | None:
        with self._lock:
            return self._tracker.clock_reference(device)

    def clock_known(self, device: str, boot: str) -> bool:
        """Whether a live heartbeat of this boot of `device` ties its clock to ours."""
        reference = self.clock_reference(device)
        return reference is not None and reference.boot == boot

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return self._tracker.snapshot()

    def _observe(self, device: str, track: Callable[[], Emitted]) -> Emitted:
        with self._lock:
            before = self._tracker.clock_reference(device)
            emitted = track()
            after = self._tracker.clock_reference(device)
        if after is not None and (
            before is None or before.boot != after.boot
            or abs(before.mono_offset_ms - after.mono_offset_ms) > CLOCK_REFERENCE_DRIFT_MS
        ):
            self._save(device, after)
        return emitted

    def _save(self, device: str, reference: ClockReference) -> None:
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO clock_references (device, boot, mono_offset_ms, skew_ms) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (device) DO UPDATE SET boot = excluded.boot, "
                "mono_offset_ms = excluded.mono_offset_ms, skew_ms = excluded.skew_ms",
                (device, reference.boot, reference.mono_offset_ms, reference.skew_ms),
            )


class PresenceReports:
    """Records presence changes as gateway events."""

    def __init__(self, presence: HallPresence, record: Record, clock: Clock) -> None:
        self.presence = presence
        self.record = record
        self.clock = clock

    def traffic(self, device: str) -> None:
        self._report(device, self.presence.on_traffic(device, self.clock.wall_ms()))

    def status(self, device: str, status: dict[str, Any]) -> None:
        self._report(device, self.presence.on_status(device, status, self.clock.wall_ms()))

    def heartbeat(self, device: str, beat: dict[str, Any]) -> None:
        self._report(device, self.presence.on_heartbeat(device, beat, self.clock.wall_ms()))

    def _report(self, device: str, emitted: Emitted) -> None:
        for type, body in emitted:
            self.record(type, body)
            log.info("device %s: %s %s", device, type.removeprefix("device."),
                     body.get("reason") or body.get("state") or "")

    def sweep(self) -> None:
        """Mark devices offline that went silent (a dead device is never silent to central)."""
        for type, body in self.presence.sweep(self.clock.wall_ms()):
            self.record(type, body)
            log.warning("device %s went silent: marked offline", body["device"])
