"""Keypads behind one small interface: GPIO buttons, USB keyboards, RS-485 and serial evaluators.

A keypad turns hardware into `KeyPress`es for one callback. Adapters live in
this package, one module each (`gpio`, `modbus`, `framed_serial`, `console`),
and import their hardware library inside their constructor so this package
imports on any laptop. `SimulatedKeypad` is the test double shipped with it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class KeyPress:
    """One clean press (debounced), with how long the key was held when known."""

    key: str
    """The logical key name from configuration: '1'..'5', 'call_next', 'recall', ..."""
    at_mono_ms: int
    held_ms: int | None = None
    source: str = ""


KeyHandler = Callable[[KeyPress], None]


class Keypad(Protocol):
    def start(self, on_press: KeyHandler) -> None:
        """Begin delivering presses to `on_press` (from the adapter's own thread)."""
        ...

    def stop(self) -> None: ...

    def healthy(self) -> bool:
        """False while the adapter cannot reach its hardware (cable pulled, timeouts)."""
        ...


class SimulatedKeypad:
    """A keypad a test or the demo presses by hand."""

    def __init__(self, source: str = "sim") -> None:
        self.source = source
        self._on_press: KeyHandler | None = None
        self._lock = threading.Lock()
        self.connected = True

    def start(self, on_press: KeyHandler) -> None:
        with self._lock:
            self._on_press = on_press

    def stop(self) -> None:
        with self._lock:
            self._on_press = None

    def healthy(self) -> bool:
        return self.connected

    def press(self, key: str, held_ms: int | None = None) -> None:
        with self._lock:
            handler = self._on_press
        if handler is not None and self.connected:
            handler(KeyPress(key, time.monotonic_ns() // 1_000_000, held_ms, self.source))
