"""Keypads behind one small interface: GPIO buttons, USB keyboards, RS-485 and serial evaluators.

A keypad turns hardware into `KeyPress`es for one callback. Adapters live in
this package, one module each (`gpio`, `modbus`, `framed_serial`, `console`),
and import their hardware library inside their constructor so this package
imports on any laptop. `SimulatedKeypad` is the test double shipped with it.

Besides clean presses, every adapter reports what it saw and did not deliver
(bounces, auto-repeats, held keys, unknown codes, bad frames) and its faults as
`KeyEvent`s to observers registered with `on_event`. Consumers that only act on
keys (window callers) can ignore them; a rating terminal keeps them for audit.
`build_keypad(settings)` (in `edge.runtime.hardware.factory`) picks the adapter.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from edge.runtime.hardware.prompt import Showing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyPress:
    """One clean press (debounced), with how long the key was held when known."""

    key: str
    """The logical key name from configuration: '1'..'5', 'call_next', 'recall', ..."""
    at_mono_ms: int
    held_ms: int | None = None
    source: str = ""


class KeyEventKind(StrEnum):
    """What an adapter observed besides a clean press."""

    RELEASE = "release"  # a delivered press ended; `held_ms` says how long
    HELD = "held"  # a key stayed down past the hold threshold (reported once per press)
    BOUNCE = "bounce"  # a contact edge inside the debounce time: not a press
    REPEAT = "repeat"  # auto-repeat or a retransmitted frame of a press already delivered
    UNKNOWN_KEY = "unknown_key"  # a code or pin with no key in configuration
    MISSED = "missed"  # presses the hardware counted that we could not read one by one
    RESTARTED = "restarted"  # the keypad restarted (its press counter went back): no press, no loss
    BAD_FRAME = "bad_frame"  # checksum/format error on a serial line
    FAULT = "fault"  # the keypad cannot be reached (reported once per outage)
    RECOVERED = "recovered"  # the keypad is reachable again


@dataclass(frozen=True)
class KeyEvent:
    """Something a keypad saw that is not a clean press: audit trail and health changes."""

    kind: KeyEventKind
    at_mono_ms: int
    key: str | None = None
    held_ms: int | None = None
    detail: str = ""
    source: str = ""


KeyHandler = Callable[[KeyPress], None]
KeyEventHandler = Callable[[KeyEvent], None]


def mono_ms() -> int:
    return time.monotonic_ns() // 1_000_000


class Keypad(Protocol):
    def start(self, on_press: KeyHandler) -> None:
        """Begin delivering presses to `on_press` (from the adapter's own thread)."""
        ...

    def stop(self) -> None: ...

    def healthy(self) -> bool:
        """False while the adapter cannot reach its hardware (cable pulled, timeouts)."""
        ...


@runtime_checkable
class ObservableKeypad(Keypad, Protocol):
    """A keypad that also reports bounces, repeats, holds and faults (all adapters here do)."""

    def on_event(self, handler: KeyEventHandler) -> None: ...


class KeyEventHub:
    """Fan-out of `KeyEvent`s with fault state kept once: a fault is reported once per outage."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._handlers: list[KeyEventHandler] = []
        self._faulted = False
        self._lock = threading.Lock()

    def add(self, handler: KeyEventHandler) -> None:
        with self._lock:
            self._handlers.append(handler)

    @property
    def faulted(self) -> bool:
        return self._faulted

    def emit(self, kind: KeyEventKind, *, key: str | None = None, held_ms: int | None = None,
             detail: str = "", at_mono_ms: int | None = None) -> None:
        event = KeyEvent(kind, mono_ms() if at_mono_ms is None else at_mono_ms, key, held_ms,
                         detail, self.source)
        with self._lock:
            handlers = list(self._handlers)
        for handler in handlers:
            try:
                handler(event)
            except Exception:  # an observer's bug must not stop the keypad thread
                log.exception("keypad event observer failed on %s", event.kind)

    def fault(self, detail: str) -> bool:
        """Enter the fault state; True (and one event, one log line) only on the transition."""
        with self._lock:
            if self._faulted:
                return False
            self._faulted = True
        log.warning("keypad %s fault: %s", self.source, detail)
        self.emit(KeyEventKind.FAULT, detail=detail)
        return True

    def recovered(self, detail: str = "") -> bool:
        with self._lock:
            if not self._faulted:
                return False
            self._faulted = False
        log.warning("keypad %s back%s", self.source, f": {detail}" if detail else "")
        self.emit(KeyEventKind.RECOVERED, detail=detail)
        return True


class SimulatedKeypad:
    """A keypad a test or the demo presses by hand."""

    def __init__(self, source: str = "sim") -> None:
        self.source = source
        self._on_press: KeyHandler | None = None
        self._lock = threading.Lock()
        self.connected = True
        self.events = KeyEventHub(source)
        self.shown: list[Showing] = []
        """The prompts it was told to show, in order (the last 100)."""

    def start(self, on_press: KeyHandler) -> None:
        with self._lock:
            self._on_press = on_press

    def stop(self) -> None:
        with self._lock:
            self._on_press = None

    def healthy(self) -> bool:
        return self.connected

    def on_event(self, handler: KeyEventHandler) -> None:
        self.events.add(handler)

    def show(self, showing: Showing) -> None:
        self.shown.append(showing)
        del self.shown[:-100]

    def press(self, key: str, held_ms: int | None = None) -> None:
        """One clean press; with `held_ms` past a hold, also the HELD report a real adapter makes."""
        with self._lock:
            handler = self._on_press
        if handler is not None and self.connected:
            at = mono_ms()
            handler(KeyPress(key, at, held_ms, self.source))
            if held_ms is not None:
                self.events.emit(KeyEventKind.HELD, key=key, held_ms=held_ms, at_mono_ms=at)

    def disconnect(self, detail: str = "cable pulled") -> None:
        """Simulate a pulled cable: presses are lost at the hardware and a fault is reported."""
        self.connected = False
        self.events.fault(detail)

    def reconnect(self) -> None:
        self.connected = True
        self.events.recovered("cable back")
