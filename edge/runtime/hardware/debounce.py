"""Debounce and hold detection for level-type keys (GPIO pins, Modbus key bitmaps).

Pure logic on a caller-supplied millisecond clock, so tests drive it edge by
edge: gpiozero's mock pins ignore `bounce_time`, and a Modbus bitmap is only a
level sampled now and then.

The rule: the first edge that changes a key's debounced state is accepted at
once (a press is delivered without waiting), and the key is then locked for
`bounce_ms`; edges inside the lock are bounces. When the lock ends, the last raw
level wins (`tick`), so a real tap shorter than the lock is still released.
A key down for `hold_ms` is reported HELD once; it never repeats as a press.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.runtime.hardware.keys import KeyEventHub, KeyEventKind, KeyHandler, KeyPress


@dataclass
class _KeyState:
    down: bool = False
    raw_down: bool = False
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
        source: str = "",
    ) -> None:
        if bounce_ms < 0 or hold_ms <= bounce_ms:
            raise ValueError("need 0 <= bounce_ms < hold_ms")
        self._on_press = on_press
        self._events = events
        self.bounce_ms = bounce_ms
        self.hold_ms = hold_ms
        self.source = source
        self._keys: dict[str, _KeyState] = {}

    def is_down(self, key: str) -> bool:
        state = self._keys.get(key)
        return state is not None and state.down

    def edge(self, key: str, pressed: bool, at_ms: int) -> None:
        """A raw level change of `key` observed at `at_ms`."""
        state = self._keys.setdefault(key, _KeyState())
        self.tick(at_ms)
        state.raw_down = pressed
        if at_ms < state.locked_until:
            self._events.emit(KeyEventKind.BOUNCE, key=key, at_mono_ms=at_ms,
                              detail="down" if pressed else "up")
            return
        self._settle(key, state, at_ms)

    def baseline(self, key: str, pressed: bool) -> None:
        """Adopt a level without reporting it (start-up, reconnect): never a phantom press."""
        state = self._keys.setdefault(key, _KeyState())
        state.down = state.raw_down = pressed
        state.held_reported = pressed  # a key already down is not "held" by anyone we saw press it

    def tick(self, now_ms: int) -> None:
        """Let time pass: settle keys whose lock ended, report keys held too long."""
        for key, state in self._keys.items():
            if state.raw_down != state.down and now_ms >= state.locked_until:
                self._settle(key, state, max(now_ms, state.locked_until))
            if state.down and not state.held_reported and now_ms - state.down_at >= self.hold_ms:
                state.held_reported = True
                self._events.emit(KeyEventKind.HELD, key=key, held_ms=now_ms - state.down_at,
                                  at_mono_ms=state.down_at)

    def next_deadline(self) -> int | None:
        """When `tick` next has something to do, so a driver thread can sleep until then."""
        deadlines: list[int] = []
        for state in self._keys.values():
            if state.raw_down != state.down:
                deadlines.append(state.locked_until)
            if state.down and not state.held_reported:
                deadlines.append(state.down_at + self.hold_ms)
        return min(deadlines) if deadlines else None

    def _settle(self, key: str, state: _KeyState, at_ms: int) -> None:
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
