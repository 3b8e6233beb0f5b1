"""Telling the citizen and the technician what the kiosk is doing: LEDs, a buzzer, the console.

The ready LED is lit while tickets can be printed; the fault LED while they
cannot; a refused press beeps twice and prints the reason on the console (the
kiosk's screen, when it has one, reads the same lines).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from edge.queue_kiosk.config import IndicatorSettings

log = logging.getLogger(__name__)


class Indicator(Protocol):
    def ready(self, ok: bool, reason: str) -> None:
        """Tickets can (ok) or cannot be printed, and why."""
        ...

    def issued(self, label: str) -> None: ...

    def refused(self, reason: str) -> None: ...

    def close(self) -> None: ...


class ConsoleIndicator:
    """Lines on the console; also remembers them for tests and diagnostics."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ok = True

    def _say(self, line: str) -> None:
        self.lines.append(line)
        del self.lines[:-50]
        log.info("kiosk: %s", line)

    def ready(self, ok: bool, reason: str) -> None:
        self.ok = ok
        self._say("ready" if ok else f"out of service: {reason}")

    def issued(self, label: str) -> None:
        self._say(f"ticket {label}")

    def refused(self, reason: str) -> None:
        self._say(f"no ticket: {reason}")

    def close(self) -> None:
        pass


class GpioIndicator(ConsoleIndicator):
    """The console, plus LEDs and a buzzer on the pins configured."""

    def __init__(self, settings: IndicatorSettings, pin_factory: Any = None) -> None:
        super().__init__()
        from gpiozero import LED, Buzzer

        self.ready_led = LED(settings.ready_led_pin, pin_factory=pin_factory) \
            if settings.ready_led_pin is not None else None
        self.fault_led = LED(settings.fault_led_pin, pin_factory=pin_factory) \
            if settings.fault_led_pin is not None else None
        self.buzzer = Buzzer(settings.buzzer_pin, pin_factory=pin_factory) \
            if settings.buzzer_pin is not None else None

    def ready(self, ok: bool, reason: str) -> None:
        super().ready(ok, reason)
        if self.ready_led is not None:
            self.ready_led.value = ok
        if self.fault_led is not None:
            if ok:
                self.fault_led.off()
            else:
                self.fault_led.blink(on_time=0.5, off_time=0.5)

    def refused(self, reason: str) -> None:
        super().refused(reason)
        if self.buzzer is not None:
            self.buzzer.beep(on_time=0.1, off_time=0.1, n=2)

    def close(self) -> None:
        for device in (self.ready_led, self.fault_led, self.buzzer):
            if device is not None:
                device.close()


def make_indicator(settings: IndicatorSettings, pin_factory: Any = None) -> Indicator:
    if all(pin is None for pin in (settings.ready_led_pin, settings.fault_led_pin, settings.buzzer_pin)):
        return ConsoleIndicator()
    return GpioIndicator(settings, pin_factory)
