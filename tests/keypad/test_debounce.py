"""The debouncer: one press per real press, bounces and holds reported, never extra presses.

Two rules: `lock` (keypads: a press at its first edge, then a lock) and `settle`
(the kiosk's service buttons: a press once the contact stayed closed).
"""

from __future__ import annotations

import pytest

from edge.runtime.hardware.debounce import DebounceMode, Debouncer
from edge.runtime.hardware.keys import KeyEvent, KeyEventHub, KeyEventKind, KeyPress


class Recorder:
    def __init__(self, bounce_ms: int = 30, hold_ms: int = 1000, mode: DebounceMode = "lock") -> None:
        self.presses: list[KeyPress] = []
        self.events: list[KeyEvent] = []
        hub = KeyEventHub("test")
        hub.add(self.events.append)
        self.debouncer = Debouncer(self.presses.append, hub, bounce_ms=bounce_ms, hold_ms=hold_ms, mode=mode)

    def kinds(self) -> list[KeyEventKind]:
        return [event.kind for event in self.events]


def test_a_clean_press_is_delivered_at_the_press_edge_without_waiting() -> None:
    r = Recorder()
    r.debouncer.edge("1", True, 1000)
    assert [(p.key, p.at_mono_ms) for p in r.presses] == [("1", 1000)]
    r.debouncer.edge("1", False, 1200)
    assert r.events[-1].kind == KeyEventKind.RELEASE and r.events[-1].held_ms == 200
    assert len(r.presses) == 1


def test_contact_bounce_makes_one_press_and_is_reported() -> None:
    r = Recorder(bounce_ms=30)
    for at, level in [(0, True), (3, False), (6, True), (9, False), (12, True)]:
        r.debouncer.edge("2", level, at)
    r.debouncer.tick(100)
    r.debouncer.edge("2", False, 300)
    for at, level in [(302, True), (305, False)]:
        r.debouncer.edge("2", level, at)
    r.debouncer.tick(400)
    assert [p.key for p in r.presses] == ["2"]
    assert r.kinds().count(KeyEventKind.BOUNCE) == 6
    assert r.kinds().count(KeyEventKind.RELEASE) == 1


def test_a_tap_shorter_than_the_bounce_lock_is_still_released() -> None:
    r = Recorder(bounce_ms=30)
    r.debouncer.edge("3", True, 0)
    r.debouncer.edge("3", False, 10)  # inside the lock: looks like a bounce for now
    assert not r.kinds().count(KeyEventKind.RELEASE)
    assert r.debouncer.next_deadline() == 30
    r.debouncer.tick(30)
    assert r.kinds()[-1] == KeyEventKind.RELEASE
    assert not r.debouncer.is_down("3")
    r.debouncer.edge("3", True, 100)  # and the next real press counts
    assert len(r.presses) == 2


def test_a_held_key_is_reported_once_and_never_repeats_as_a_press() -> None:
    r = Recorder(hold_ms=1000)
    r.debouncer.edge("4", True, 0)
    assert r.debouncer.next_deadline() == 1000
    for now in range(0, 10_000, 100):
        r.debouncer.tick(now)
    r.debouncer.edge("4", False, 10_000)
    assert len(r.presses) == 1
    held = [e for e in r.events if e.kind == KeyEventKind.HELD]
    assert len(held) == 1 and held[0].held_ms == 1000 and held[0].key == "4"
    assert r.events[-1].held_ms == 10_000


def test_mashing_different_keys_gives_each_real_press() -> None:
    r = Recorder(bounce_ms=20)
    t = 0
    for key in ["1", "5", "1", "3"]:
        r.debouncer.edge(key, True, t)
        r.debouncer.edge(key, False, t + 40)
        t += 60
    assert [p.key for p in r.presses] == ["1", "5", "1", "3"]


def test_a_key_already_down_at_start_is_no_phantom_press() -> None:
    r = Recorder()
    r.debouncer.baseline("5", True)
    r.debouncer.tick(5000)
    r.debouncer.edge("5", False, 6000)
    assert r.presses == []
    assert KeyEventKind.HELD not in r.kinds()


def test_hold_must_be_longer_than_bounce() -> None:
    with pytest.raises(ValueError):
        Debouncer(lambda p: None, KeyEventHub("x"), bounce_ms=50, hold_ms=50)


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError):
        Debouncer(lambda p: None, KeyEventHub("x"), mode="eager")  # type: ignore[arg-type]


# --- settle: a press counts once the contact has stayed closed -----------------------------


def test_settle_a_bouncing_contact_is_one_press_once_it_settles() -> None:
    r = Recorder(bounce_ms=30, hold_ms=1500, mode="settle")
    r.debouncer.edge("A", True, 0)
    assert r.debouncer.next_deadline() == 30
    r.debouncer.edge("A", False, 3)  # bounce
    r.debouncer.edge("A", True, 5)
    assert r.debouncer.next_deadline() == 35
    r.debouncer.tick(30)
    assert r.presses == []
    r.debouncer.tick(35)
    assert [(p.key, p.at_mono_ms) for p in r.presses] == [("A", 5)]  # dated at the settled edge
    r.debouncer.tick(500)
    assert len(r.presses) == 1  # held: still one press
    r.debouncer.edge("A", False, 600)
    r.debouncer.edge("A", True, 700)
    r.debouncer.tick(730)
    assert len(r.presses) == 2
    assert KeyEventKind.BOUNCE in r.kinds()


def test_settle_a_spike_shorter_than_the_settle_time_is_no_press() -> None:
    r = Recorder(bounce_ms=30, mode="settle")
    r.debouncer.edge("A", True, 0)
    r.debouncer.edge("A", False, 10)
    r.debouncer.tick(30)
    assert r.presses == []
    assert r.debouncer.next_deadline() is None


def test_settle_a_held_button_is_held_once_and_released_once() -> None:
    r = Recorder(bounce_ms=30, hold_ms=1000, mode="settle")
    r.debouncer.edge("B", True, 0)
    for now in range(0, 5000, 100):
        r.debouncer.tick(now)
    r.debouncer.edge("B", False, 5000)
    r.debouncer.tick(5030)
    assert len(r.presses) == 1
    assert [e.kind for e in r.events] == [KeyEventKind.HELD, KeyEventKind.RELEASE]
    assert r.events[-1].held_ms == 5000


def test_settle_a_push_right_after_a_release_is_a_new_press_but_a_release_bounce_is_not() -> None:
    r = Recorder(bounce_ms=30, mode="settle")
    r.debouncer.edge("A", True, 0)
    r.debouncer.tick(30)
    r.debouncer.edge("A", False, 100)  # let go: at once
    assert r.events[-1].kind == KeyEventKind.RELEASE and r.events[-1].held_ms == 100
    r.debouncer.edge("A", True, 102)  # the contact bouncing as it opens
    r.debouncer.edge("A", False, 104)
    r.debouncer.tick(200)
    assert len(r.presses) == 1
    r.debouncer.edge("A", True, 205)  # the next push, however soon, once it has settled
    r.debouncer.tick(235)
    assert [p.at_mono_ms for p in r.presses] == [0, 205]
