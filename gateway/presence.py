"""Which devices of the hall are online, and how far off their clocks are.

Pure logic: it is told what arrived and when, and answers with the events to
record. A device is online from its retained `online` status or any traffic,
offline on its last will, a clean stop, or `silence_s` without a word.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DevicePresence:
    device: str
    online: bool = False
    boot: str | None = None
    kind: str | None = None
    last_seen_ms: int | None = None
    skew_ms: int | None = None
    skewed: bool = False
    mono_offset_ms: int | None = None
    """gateway wall time minus device monotonic time, for the current boot."""
    last_heartbeat: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ClockReference:
    boot: str
    mono_offset_ms: int
    skew_ms: int


Emitted = list[tuple[str, dict[str, Any]]]


class PresenceTracker:
    def __init__(self, silence_s: float, skew_threshold_ms: int) -> None:
        self.silence_ms = int(silence_s * 1000)
        self.skew_threshold_ms = skew_threshold_ms
        self.devices: dict[str, DevicePresence] = {}

    def _get(self, device: str) -> DevicePresence:
        return self.devices.setdefault(device, DevicePresence(device))

    def on_status(self, device: str, status: dict[str, Any], now_ms: int) -> Emitted:
        state = status.get("state")
        presence = self._get(device)
        if state == "online":
            presence.boot = status.get("boot") or presence.boot
            return self._seen(presence, now_ms)
        if state == "offline" and presence.online:
            presence.online = False
            return [("device.offline", {"device": device, "reason": str(status.get("reason", "offline")),
                                        "last_seen": presence.last_seen_ms})]
        return []

    def on_heartbeat(self, device: str, beat: dict[str, Any], now_ms: int) -> Emitted:
        presence = self._get(device)
        presence.last_heartbeat = beat
        presence.kind = beat.get("kind", presence.kind)
        emitted = self._seen(presence, now_ms)
        wall, mono, boot = beat.get("at"), beat.get("mono"), beat.get("boot")
        if isinstance(wall, int) and isinstance(mono, int) and isinstance(boot, str):
            # A heartbeat is QoS 0 and never queued, so it is live: the skew it
            # shows is the clock's, not a backlog's age.
            presence.boot = boot
            presence.mono_offset_ms = now_ms - mono
            presence.skew_ms = now_ms - wall
            skewed = abs(presence.skew_ms) > self.skew_threshold_ms
            if skewed != presence.skewed:
                presence.skewed = skewed
                emitted.append(("device.clock_skew", {
                    "device": device, "skew_ms": presence.skew_ms,
                    "state": "skewed" if skewed else "ok",
                }))
        return emitted

    def on_traffic(self, device: str, now_ms: int) -> Emitted:
        return self._seen(self._get(device), now_ms)

    def _seen(self, presence: DevicePresence, now_ms: int) -> Emitted:
        presence.last_seen_ms = now_ms
        if presence.online:
            return []
        presence.online = True
        return [("device.online", {"device": presence.device, "boot": presence.boot,
                                   "kind": presence.kind})]

    def sweep(self, now_ms: int) -> Emitted:
        """Offline events for devices that went silent: a dead device is never silent to us."""
        emitted: Emitted = []
        for presence in self.devices.values():
            if (
                presence.online
                and presence.last_seen_ms is not None
                and now_ms - presence.last_seen_ms > self.silence_ms
            ):
                presence.online = False
                emitted.append(("device.offline", {
                    "device": presence.device, "reason": "silent",
                    "last_seen": presence.last_seen_ms,
                }))
        return emitted

    def restore(self, device: str, reference: ClockReference) -> None:
        """Take back a reference saved before a restart: it holds for as long as that boot lasts."""
        presence = self._get(device)
        if presence.mono_offset_ms is None:
            presence.boot = reference.boot
            presence.mono_offset_ms = reference.mono_offset_ms
            presence.skew_ms = reference.skew_ms

    def clock_reference(self, device: str) -> ClockReference | None:
        presence = self.devices.get(device)
        if presence is None or presence.boot is None or presence.mono_offset_ms is None:
            return None
        return ClockReference(presence.boot, presence.mono_offset_ms, presence.skew_ms or 0)

    def snapshot(self) -> list[dict[str, Any]]:
        return [
            {"device": p.device, "online": p.online, "kind": p.kind, "boot": p.boot,
             "last_seen": p.last_seen_ms, "skew_ms": p.skew_ms, "skewed": p.skewed,
             "outbox_events": p.last_heartbeat.get("outbox_events"),
             "dropped": p.last_heartbeat.get("dropped")}
            for p in sorted(self.devices.values(), key=lambda p: p.device)
        ]
