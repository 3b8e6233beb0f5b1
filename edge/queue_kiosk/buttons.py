"""One GPIO button per service, debounced by our own logic (gpiozero's mock pins ignore bounce_time).

`Debouncer` is pure: it is told each edge with its time and answers when a
press is real. A press counts once the contact has stayed closed for
`settle_ms` (contact bounce and electrical spikes are shorter); after a
counted press the button must be released before it can count again (a
citizen holding it gets one ticket), and no press of any button within
`repeat_guard_ms` counts (a double tap does not print two tickets).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from edge.queue_kiosk.config import ButtonSettings

log = logging.getLogger(__name__)


class Debouncer:
    def __init__(self, settle_ms: int) -> None:
        self.settle_ms = settle_ms
        self._closed_since: int | None = None
        self._counted = False

    def edge(self, closed: bool, now_ms: int) -> int | None:
        """A raw edge; returns the time at which to `check()` for a press, if one may be coming."""
        if closed:
            if self._closed_since is None:
                self._closed_since = now_ms
            return self._closed_since + self.settle_ms
        self._closed_since = None
        self._counted = False
        return None

    def check(self, now_ms: int) -> bool:
        """True exactly once per real press, when it has settled."""
        if self._counted or self._closed_since is None:
            return False
        if now_ms - self._closed_since >= self.settle_ms:
            self._counted = True
            return True
        return False


class RepeatGuard:
    """No second ticket within `guard_ms` of the last one, whichever button."""

    def __init__(self, guard_ms: int) -> None:
        self.guard_ms = guard_ms
        self._last: int | None = None

    def allow(self, now_ms: int) -> bool:
        if self._last is not None and now_ms - self._last < self.guard_ms:
            return False
        self._last = now_ms
        return True


def _now_ms() -> int:
    return time.monotonic_ns() // 1_000_000


class ServiceButtons:
    """gpiozero Buttons (pull-up by default, no bounce_time) feeding our debouncers.

    `on_press(prefix, pressed_at_mono_ms)` runs on the buttons' own thread; the
    time is the first edge of the press, so latency is measured from the finger.
    """

    def __init__(
        self,
        pins: dict[str, int],
        settings: ButtonSettings,
        on_press: Callable[[str, int], None],
        pin_factory: Any = None,
    ) -> None:
        from gpiozero import Button

        if pin_factory is None and settings.pin_factory:
            pin_factory = _factory(settings.pin_factory)
        self.settings = settings
        self.on_press = on_press
        self._guard = RepeatGuard(settings.repeat_guard_ms)
        self._debouncers = {prefix: Debouncer(settings.settle_ms) for prefix in pins}
        self._first_edge: dict[str, int] = {}
        self._due: dict[str, int] = {}
        self._wake = threading.Condition()
        self._stop = False
        self.buttons = {}
        for prefix, pin in pins.items():
            button = Button(pin, pull_up=settings.pull_up, bounce_time=None, pin_factory=pin_factory)
            button.when_pressed = lambda _b=None, p=prefix: self._edge(p, True)
            button.when_released = lambda _b=None, p=prefix: self._edge(p, False)
            self.buttons[prefix] = button
        self._thread = threading.Thread(target=self._run, name="service-buttons", daemon=True)
        self._thread.start()

    def _edge(self, prefix: str, closed: bool) -> None:
        now = _now_ms()
        with self._wake:
            due = self._debouncers[prefix].edge(closed, now)
            if due is None:
                self._due.pop(prefix, None)
                self._first_edge.pop(prefix, None)
            else:
                self._first_edge.setdefault(prefix, now)
                self._due[prefix] = due
            self._wake.notify()

    def _run(self) -> None:
        while True:
            fire: list[tuple[str, int]] = []
            with self._wake:
                if self._stop:
                    return
                now = _now_ms()
                for prefix, due in list(self._due.items()):
                    if due <= now:
                        del self._due[prefix]
                        if self._debouncers[prefix].check(now):
                            fire.append((prefix, self._first_edge.get(prefix, now)))
                if not fire:
                    wait = min(self._due.values(), default=now + 1000) - now
                    self._wake.wait(max(wait, 1) / 1000)
                    continue
            for prefix, pressed_at in fire:
                if not self._guard.allow(pressed_at):
                    log.info("button %s pressed again within %d ms: ignored", prefix,
                             self.settings.repeat_guard_ms)
                    continue
                try:
                    self.on_press(prefix, pressed_at)
                except Exception:
                    log.exception("handling the %s button failed", prefix)

    def close(self) -> None:
        with self._wake:
            self._stop = True
            self._wake.notify()
        self._thread.join(timeout=5)
        for button in self.buttons.values():
            button.close()


def _factory(name: str) -> Any:
    module = {
        "mock": ("gpiozero.pins.mock", "MockFactory"),
        "lgpio": ("gpiozero.pins.lgpio", "LGPIOFactory"),
        "rpigpio": ("gpiozero.pins.rpigpio", "RPiGPIOFactory"),
        "native": ("gpiozero.pins.native", "NativeFactory"),
    }.get(name)
    if module is None:
        raise ValueError(f"unknown pin factory {name!r}: use mock, lgpio, rpigpio or native")
    import importlib

    return getattr(importlib.import_module(module[0]), module[1])()
