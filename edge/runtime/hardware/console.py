"""A USB numeric keypad or keyboard: evdev on a Pi, or tokens typed on stdin.

With `device` set, keys come from the Linux input device through python-evdev
(imported only then, and an error if it is missing: a configured device never
silently becomes stdin). Keyboards debounce in their own firmware, so here a
press is the key-down event; auto-repeat is reported as HELD once, then REPEAT,
never as more presses. On stdin every whitespace-separated token is one press.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from edge.runtime.hardware.keys import KeyEventKind, KeyPress, mono_ms
from edge.runtime.hardware.threaded import ThreadedKeypad

EV_KEY = 1  # linux/input-event-codes.h; evdev's ecodes.EV_KEY
KEY_UP, KEY_DOWN, KEY_AUTOREPEAT = 0, 1, 2


class ConsoleKeypad(ThreadedKeypad):
    """Keys typed as tokens on a text stream (stdin by default), one press per token.

    Stopping does not wait for the reader: a blocked readline cannot be interrupted
    portably, and the daemon thread dies with the process.
    """

    def __init__(self, keys: Mapping[str, str], *, stream: TextIO | None = None,
                 source: str = "console") -> None:
        super().__init__(source)
        self.keys = dict(keys)
        self._stream = stream if stream is not None else sys.stdin

    def _run(self) -> None:
        for line in self._stream:
            for token in line.split():
                self.token(token)
        self.events.fault("console input closed")

    def token(self, token: str) -> None:
        """One typed token: a press of its key, or an UNKNOWN_KEY event."""
        key = self.keys.get(token)
        if key is None:
            self.events.emit(KeyEventKind.UNKNOWN_KEY, detail=token)
            return
        self._deliver(KeyPress(key, mono_ms(), None, self.source))


class EvdevKeypad(ThreadedKeypad):
    """A USB keypad read from /dev/input through python-evdev (grabbed, so no tty sees the keys)."""

    def __init__(self, device: Path, keys: Mapping[str, str], *, grab: bool = True,
                 source: str = "evdev", clock: Callable[[], int] = mono_ms) -> None:
        try:
            import evdev
        except ImportError as exc:
            raise RuntimeError(
                f"keypad.device is {device} but python-evdev is not installed; "
                "install it (apt install python3-evdev) or leave keypad.device unset to read stdin"
            ) from exc
        super().__init__(source)
        self._evdev = evdev
        self.device_path = device
        self.keys = dict(keys)
        self._clock = clock
        self._grab = grab
        self._down_at: dict[str, int] = {}
        self._held: set[str] = set()
        self._input: Any = self._open()  # fail at start-up if the device is not there

    def _open(self) -> Any:
        device = self._evdev.InputDevice(str(self.device_path))
        if self._grab:
            device.grab()
        return device

    def _release(self) -> None:
        if self._input is not None:
            self._input.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._input is None:
                    self._input = self._open()
                    self.events.recovered(str(self.device_path))
                for event in self._input.read_loop():
                    if event.type == EV_KEY:
                        self.key_event(self._evdev.ecodes.KEY.get(event.code, str(event.code)), event.value)
            except OSError as exc:  # unplugged: ENODEV; retry until it is back
                if self._stop.is_set():
                    return
                self.events.fault(f"{self.device_path}: {exc}")
                self._input = None
                self._stop.wait(2.0)

    def key_event(self, name: str | list[str], value: int) -> None:
        """One EV_KEY event (`name` as evdev reports it, `value` 0 up / 1 down / 2 repeat)."""
        names = name if isinstance(name, list) else [name]
        key = next((self.keys[n] for n in names if n in self.keys), None)
        now = self._clock()
        if key is None:
            if value == KEY_DOWN:
                self.events.emit(KeyEventKind.UNKNOWN_KEY, detail="/".join(names), at_mono_ms=now)
            return
        if value == KEY_DOWN:
            self._down_at[key] = now
            self._held.discard(key)
            self._deliver(KeyPress(key, now, None, self.source))
        elif value == KEY_AUTOREPEAT:
            since = now - self._down_at.get(key, now)
            kind = KeyEventKind.REPEAT if key in self._held else KeyEventKind.HELD
            self._held.add(key)
            self.events.emit(kind, key=key, held_ms=since, at_mono_ms=now)
        elif value == KEY_UP:
            since = now - self._down_at.pop(key, now)
            self.events.emit(KeyEventKind.RELEASE, key=key, held_ms=since, at_mono_ms=now)
