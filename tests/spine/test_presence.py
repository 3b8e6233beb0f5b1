"""Device presence at the gateway: online, offline by last will or by silence, clock skew reported once."""

from __future__ import annotations

from gateway.presence import PresenceTracker


def tracker() -> PresenceTracker:
    return PresenceTracker(silence_s=90, skew_threshold_ms=10_000)


def test_a_device_comes_online_once_and_goes_offline_on_its_last_will() -> None:
    presence = tracker()

    first = presence.on_status("kiosk-01", {"state": "online", "boot": "b1"}, 1_000)
    again = presence.on_traffic("kiosk-01", 2_000)
    gone = presence.on_status("kiosk-01", {"state": "offline", "reason": "connection lost"}, 3_000)

    assert [type for type, _ in first] == ["device.online"]
    assert again == []
    assert gone == [
        ("device.offline", {"device": "kiosk-01", "reason": "connection lost", "last_seen": 2_000})
    ]


def test_a_silent_device_is_marked_offline_once() -> None:
    presence = tracker()
    presence.on_traffic("rating-03", 0)

    assert presence.sweep(90_000) == []
    silent = presence.sweep(90_001)
    assert silent == [("device.offline", {"device": "rating-03", "reason": "silent", "last_seen": 0})]
    assert presence.sweep(200_000) == []


def test_clock_skew_is_reported_when_it_starts_and_when_it_ends() -> None:
    presence = tracker()
    now = 1_800_000_000_000

    skewed = presence.on_heartbeat("cam-01", {"at": now - 3_600_000, "mono": 50, "boot": "b"}, now)
    still = presence.on_heartbeat("cam-01", {"at": now - 3_600_000, "mono": 60, "boot": "b"}, now + 10)
    fixed = presence.on_heartbeat("cam-01", {"at": now + 20, "mono": 70, "boot": "b"}, now + 20)

    assert ("device.clock_skew", {"device": "cam-01", "skew_ms": 3_600_000, "state": "skewed"}) in skewed
    assert [t for t, _ in still] == []
    assert fixed == [("device.clock_skew", {"device": "cam-01", "skew_ms": 0, "state": "ok"})]
    reference = presence.clock_reference("cam-01")
    assert reference is not None and reference.mono_offset_ms == now + 20 - 70
