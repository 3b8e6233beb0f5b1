"""Push buttons on GPIO pins through gpiozero, debounced by our own `Debouncer`.

gpiozero's own `bounce_time` is left off: mock pins ignore it and the lgpio
factory applies it in the kernel where a test cannot see it. Every pin edge goes
to the `Debouncer`; a small thread wakes only when a bounce lock or a hold
threshold is due, so an idle keypad costs nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from edge.runtime.hardware.debounce import DebounceMode, Debouncer
from edge.runtime.hardware.keys import KeyEventHandler, KeyEventHub, KeyHandler, KeyPress, mono_ms


class GpioKeypad:
    """Buttons on BCM pins, `keys` mapping key names to pins; `pin_factory` as gpiozero takes it.

    With no `pin_factory`, gpiozero's default is used: `build_keypad` always passes
    the one `edge.runtime.hardware.pins` chose, so only tests rely on the default.
    """

    def __init__(
        self,
        keys: Mapping[str, int],
        *,
        pull_up: bool = True,
        bounce_ms: int = 30,
        hold_ms: int = 1500,
        debounce_mode: DebounceMode = "lock",
        pin_factory: Any = None,
        clock: Callable[[], int] = mono_ms,
        source: str = "gpio",
    ) -> None:
        from gpiozero import Button  # imported here so the package loads without GPIO libraries

        self.source = source
        self.events = KeyEventHub(source)
        self._clock = clock
        self._on_press: KeyHandler | None = None
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        # Presses leave the debouncer under `_lock` but reach the agent outside it, one
        # deliverer at a time: printing a ticket must not hold up (or mis-date) the next edge.
        self._ready: list[KeyPress] = []
        self._delivering = threading.Lock()
        self._stopping = False
        self._debouncer = Debouncer(self._ready.append, self.events, bounce_ms=bounce_ms,
                                    hold_ms=hold_ms, mode=debounce_mode, source=source)
        self.buttons: dict[str, Any] = {}
        try:
            for key, pin in keys.items():
                self.buttons[key] = Button(pin, pull_up=pull_up, bounce_time=None,
                                           pin_factory=pin_factory)
        except Exception:
            self.close()
            raise
        for key, button in self.buttons.items():
            self._debouncer.baseline(key, bool(button.is_pressed))
            button.when_pressed = self._edge_handler(key, True)
            button.when_released = self._edge_handler(key, False)
        self._ticker = threading.Thread(target=self._tick_loop, name=f"{source}-keys", daemon=True)

    def _edge_handler(self, key: str, pressed: bool) -> Callable[[], None]:
        def on_edge() -> None:
            with self._lock:
                self._debouncer.edge(key, pressed, self._clock())
                self._wake.notify()
            self._flush()

        return on_edge

    def _flush(self) -> None:
        """Hand the presses the debouncer let through to the agent, in order, outside `_lock`."""
        with self._delivering:
            with self._lock:
                ready = list(self._ready)
                self._ready.clear()  # the same list: the debouncer appends to it
            handler = self._on_press
            for press in ready:
                if handler is not None:
                    handler(press)

    def start(self, on_press: KeyHandler) -> None:
        with self._lock:
            self._on_press = on_press
        if not self._ticker.is_alive():
            self._ticker.start()

    def stop(self) -> None:
        with self._lock:
            self._on_press = None
            self._stopping = True
            self._wake.notify()
        if self._ticker.is_alive() and self._ticker is not threading.current_thread():
            self._ticker.join(timeout=2)
        self.close()

    def close(self) -> None:
        for button in self.buttons.values():
            button.close()

    def healthy(self) -> bool:
        return True  # a GPIO pin cannot be unplugged from the board; a stuck key shows as HELD

    def on_event(self, handler: KeyEventHandler) -> None:
        self.events.add(handler)

    def tick(self) -> None:
        """Settle bounce locks and holds now (tests with their own clock call this)."""
        with self._lock:
            self._debouncer.tick(self._clock())
        self._flush()

    def _tick_loop(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                self._debouncer.tick(self._clock())
                if not self._ready:
                    deadline = self._debouncer.next_deadline()
                    timeout = None if deadline is None else max(0.001, (deadline - self._clock()) / 1000)
                    self._wake.wait(timeout)
                    continue
            self._flush()
