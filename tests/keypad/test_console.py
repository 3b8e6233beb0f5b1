"""USB keypads: tokens on stdin, or evdev key events; auto-repeat never makes extra presses."""

from __future__ import annotations

import io
import threading

import pytest

from edge.runtime.hardware.console import KEY_AUTOREPEAT, KEY_DOWN, KEY_UP, ConsoleKeypad, EvdevKeypad
from edge.runtime.hardware.keys import KeyEvent, KeyEventKind, KeyPress


def test_each_typed_token_is_one_press_and_unknown_tokens_are_reported() -> None:
    presses: list[KeyPress] = []
    events: list[KeyEvent] = []
    closed = threading.Event()
    pad = ConsoleKeypad({"1": "1", "5": "5", "+": "call_next"}, stream=io.StringIO("1\n5 +\nx\n"))
    pad.on_event(events.append)
    pad.on_event(lambda e: closed.set() if e.kind == KeyEventKind.FAULT else None)
    pad.start(presses.append)
    assert closed.wait(5.0)
    assert [p.key for p in presses] == ["1", "5", "call_next"]
    assert [(e.kind, e.detail) for e in events] == [
        (KeyEventKind.UNKNOWN_KEY, "x"),
        (KeyEventKind.FAULT, "console input closed"),
    ]
    assert not pad.healthy()


def test_evdev_auto_repeat_is_held_then_repeat_never_a_press() -> None:
    pad = EvdevKeypad.__new__(EvdevKeypad)  # no /dev/input here: drive the event logic directly
    now = [0]
    from edge.runtime.hardware.keys import KeyEventHub

    pad.keys = {"KEY_KP1": "1"}
    pad.source = "evdev"
    pad.events = KeyEventHub("evdev")
    pad._clock = lambda: now[0]
    pad._down_at, pad._held = {}, set()
    presses: list[KeyPress] = []
    events: list[KeyEvent] = []
    pad._on_press = presses.append
    pad.on_event(events.append)
    pad.key_event("KEY_KP1", KEY_DOWN)
    for t in (500, 533, 566):
        now[0] = t
        pad.key_event("KEY_KP1", KEY_AUTOREPEAT)
    now[0] = 600
    pad.key_event("KEY_KP1", KEY_UP)
    pad.key_event("KEY_A", KEY_DOWN)
    assert [p.key for p in presses] == ["1"]
    assert [e.kind for e in events] == [KeyEventKind.HELD, KeyEventKind.REPEAT, KeyEventKind.REPEAT,
                                        KeyEventKind.RELEASE, KeyEventKind.UNKNOWN_KEY]
    assert events[3].held_ms == 600


def test_a_configured_evdev_device_never_falls_back_to_stdin(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from edge.runtime.hardware.factory import KeypadUnavailable, build_keypad
    from edge.runtime.hardware.settings import ConsoleKeypadSettings

    settings = ConsoleKeypadSettings(kind="console", device=tmp_path / "no-such-event-device")
    with pytest.raises(KeypadUnavailable):
        build_keypad(settings)
