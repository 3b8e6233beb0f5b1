"""Debounce and hold detection for level-type keys (GPIO pins, Modbus key bitmaps): the one debouncer.

Pure logic on a caller-supplied millisecond clock, so tests drive it edge by
edge: gpiozero's mock pins ignore `bounce_time`, and a Modbus bitmap is only a
level sampled now and then. Two rules, chosen per keypad (`debounce_mode`):

- **lock** (keypads, the default): the first edge that changes a key's state is
  accepted at once (a press is delivered without waiting), and the key is then
  locked for `bounce_ms`; edges inside the lock are bounces. When the lock ends,
  the last raw level wins (`tick`), so a real tap shorter than the lock is still
  released.
- **settle** (the kiosk's service buttons): a press counts only once the
  contact has stayed closed for `bounce_ms`; a spike shorter than that (a static
  discharge, a brushed button, a bounce as the button is let go) is never a
  press. A release counts at once, so the next push is never mistaken for the
  tail of the last one. The press is dated at the edge that began the settled
  closure, so latency is measured from the finger.

Either way a key gives one press per push however long it is held; a key down
for `hold_ms` is reported HELD once and never repeats as a press.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from edge.runtime.hardware.keys import KeyEventHub, KeyEventKind, KeyHandler, KeyPress

DebounceMode = Literal["lock", "settle"]


@dataclass
class _KeyState:
    down: bool = False
    raw_down: bool = False
    raw_since: int = 0
    locked_until: int = 0
    down_at: int = 0
    held_reported: bool = False


class Debouncer:
    """Turns raw edges of named keys into clean `KeyPress`es and audit `KeyEvent`s."""

    def __init__(
        self,
        on_press: KeyHandler,
        events: KeyEventHub,
        *,
        bounce_ms: int = 30,
        hold_ms: int = 1500,
        mode: DebounceMode = "lock",
        source: str = "",
    ) -> None:
        if bounce_ms < 0 or hold_ms <= bounce_ms:
            raise ValueError("need 0 <= bounce_ms < hold_ms")
        if mode not in ("lock", "settle"):
            raise ValueError(f"unknown debounce mode {mode!r}: lock or settle")
        self._on_press = on_press
        self._events = events
        self.bounce_ms = bounce_ms
        self.hold_ms = hold_ms
        self.mode = mode
        self.source = source
        self._keys: dict[str, _KeyState] = {}

    def is_down(self, key: str) -> bool:
        state = self._keys.get(key)
        return state is not None and state.down

    def edge(self, key: str, pressed: bool, at_ms: int) -> None:
        """A raw level change of `key` observed at `at_ms`."""
        state = self._keys.setdefault(key, _KeyState())
        self.tick(at_ms)
        if self.mode == "settle":
            self._settle_edge(key, state, pressed, at_ms)
            return
        state.raw_down = pressed
        if at_ms < state.locked_until:
            self._bounce(key, pressed, at_ms)
            return
        self._change(key, state, at_ms)

    def _settle_edge(self, key: str, state: _KeyState, pressed: bool, at_ms: int) -> None:
        if pressed == state.raw_down:
            return  # the same level again: the contact has not moved
        state.raw_down = pressed
        state.raw_since = at_ms
        if pressed:
            return  # a press only once it has settled (`tick`)
        if state.down:
            self._change(key, state, at_ms)  # a release at once
        else:
            self._bounce(key, pressed, at_ms)  # opened again before the closure settled

    def _bounce(self, key: str, pressed: bool, at_ms: int) -> None:
        self._events.emit(KeyEventKind.BOUNCE, key=key, at_mono_ms=at_ms, detail="down" if pressed else "up")

    def baseline(self, key: str, pressed: bool) -> None:
        """Adopt a level without reporting it (start-up, reconnect): never a phantom press."""
        state = self._keys.setdefault(key, _KeyState())
        state.down = state.raw_down = pressed
        state.held_reported = pressed  # a key already down is not "held" by anyone we saw press it

    def tick(self, now_ms: int) -> None:
        """Let time pass: settle keys whose lock or settle time ended, report keys held too long."""
        for key, state in self._keys.items():
            due = self._change_due(state)
            if due is not None and now_ms >= due:
                # lock: the change happens when the lock ends; settle: at the edge that began it.
                self._change(key, state, max(now_ms, due) if self.mode == "lock" else state.raw_since)
            if state.down and not state.held_reported and now_ms - state.down_at >= self.hold_ms:
                state.held_reported = True
                self._events.emit(KeyEventKind.HELD, key=key, held_ms=now_ms - state.down_at,
                                  at_mono_ms=state.down_at)

    def next_deadline(self) -> int | None:
        """When `tick` next has something to do, so a driver thread can sleep until then."""
        deadlines: list[int] = []
        for state in self._keys.values():
            due = self._change_due(state)
            if due is not None:
                deadlines.append(due)
            if state.down and not state.held_reported:
                deadlines.append(state.down_at + self.hold_ms)
        return min(deadlines) if deadlines else None

    def _change_due(self, state: _KeyState) -> int | None:
        """When a pending raw level becomes the key's state, if one is pending."""
        if state.raw_down == state.down:
            return None
        # lock: when the lock ends; settle: when the closure has lasted (a release is never pending).
        return state.locked_until if self.mode == "lock" else state.raw_since + self.bounce_ms

    def _change(self, key: str, state: _KeyState, at_ms: int) -> None:
        if state.raw_down == state.down:
            return
        state.down = state.raw_down
        state.locked_until = at_ms + self.bounce_ms
        if state.down:
            state.down_at = at_ms
            state.held_reported = False
            self._on_press(KeyPress(key, at_ms, None, self.source))
        else:
            held = at_ms - state.down_at
            self._events.emit(KeyEventKind.RELEASE, key=key, held_ms=held, at_mono_ms=at_ms)
