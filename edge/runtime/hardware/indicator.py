"""What a device shows and sounds: named lamps, a buzzer, and console lines, behind one interface.

A role names its lamps ("ready", "fault" at the kiosk; "please_rate", "thanks"
at the rating terminal) and decides when each is on, off or blinking; the
backend decides how that looks:

- `ConsoleIndicator`: no lamps; messages are log lines (and kept for diagnostics
  and tests), lamp changes are logged once per change.
- `GpioIndicator`: LEDs and an active buzzer through gpiozero, plus the console.
- `SimulatedIndicator`: remembers every lamp state and beep, with helpers to
  inspect them (`lamp_state`, `assert_lamps`), like gpiozero's MockFactory.

A lamp the backend has no LED for is remembered, not an error: configuration
validation (`check_lamp_names`) is where an unknown lamp name is caught.
"""

from __future__ import annotations

import logging
import threading
from enum import StrEnum
from typing import Any, Protocol

log = logging.getLogger(__name__)

KEPT_LINES = 50


class LampState(StrEnum):
    OFF = "off"
    ON = "on"
    BLINK = "blink"


class Indicator(Protocol):
    def lamp(self, name: str, state: LampState) -> None:
        """Set one named lamp; setting the state it already has does nothing."""
        ...

    def beep(self, times: int = 1) -> None: ...

    def say(self, line: str) -> None:
        """A message for the citizen or the technician (the console, a small screen)."""
        ...

    def lamp_test(self) -> list[str]:
        """Light every lamp and sound the buzzer once; the names of what was driven (self-test)."""
        ...

    def close(self) -> None: ...


class ConsoleIndicator:
    """A device without lamps: messages on the console, lamp changes in the log."""

    def __init__(self, source: str = "device") -> None:
        self.source = source
        self.lines: list[str] = []
        self.lamps: dict[str, LampState] = {}
        self.beeps = 0
        self._lock = threading.Lock()

    def lamp(self, name: str, state: LampState) -> None:
        self.remember(name, state)

    def remember(self, name: str, state: LampState) -> bool:
        """Keep a lamp's new state; True when it changed (so hardware is driven only then)."""
        with self._lock:
            if self.lamps.get(name, LampState.OFF) is state:
                return False
            self.lamps[name] = state
        log.debug("%s: lamp %s %s", self.source, name, state)
        return True

    def beep(self, times: int = 1) -> None:
        with self._lock:
            self.beeps += times
        log.debug("%s: beep x%d", self.source, times)

    def say(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)
            del self.lines[:-KEPT_LINES]
        log.info("%s: %s", self.source, line)

    def lamp_test(self) -> list[str]:
        return []

    def close(self) -> None:
        pass


class SimulatedIndicator(ConsoleIndicator):
    """A panel of `lamps` (names) and a buzzer that a test or the demo inspects instead of looking."""

    def __init__(self, lamps: list[str] | tuple[str, ...] = (), source: str = "sim") -> None:
        super().__init__(source)
        self.names = list(lamps)
        self.history: list[tuple[str, LampState]] = []

    def remember(self, name: str, state: LampState) -> bool:
        changed = super().remember(name, state)
        if changed:
            with self._lock:
                self.history.append((name, state))
        return changed

    def lamp_test(self) -> list[str]:
        for name in self.names:
            self.lamp(name, LampState.ON)
        self.beep()
        return [*self.names, "buzzer"]

    def lamp_state(self, name: str) -> LampState:
        with self._lock:
            return self.lamps.get(name, LampState.OFF)

    def assert_lamps(self, **expected: LampState | str) -> None:
        """Raise AssertionError naming every lamp whose state differs: `assert_lamps(ready="on")`."""
        wrong = {name: self.lamp_state(name).value for name, state in expected.items()
                 if self.lamp_state(name) != LampState(state)}
        if wrong:
            raise AssertionError(f"lamps differ: expected {dict(expected)}, but {wrong}")


class GpioIndicator:
    """LEDs and an active buzzer on BCM pins through gpiozero; messages still go to the console."""

    def __init__(self, lamps: dict[str, int], buzzer: int | None, *, pin_factory: Any,
                 blink_s: float = 0.5, beep_s: float = 0.1, source: str = "gpio") -> None:
        from gpiozero import LED, Buzzer  # imported here so the package loads without GPIO libraries

        self.console = ConsoleIndicator(source)
        self.blink_s = blink_s
        self.beep_s = beep_s
        self.leds: dict[str, Any] = {}
        self.buzzer: Any = None
        try:
            for name, pin in lamps.items():
                self.leds[name] = LED(pin, pin_factory=pin_factory)
            if buzzer is not None:
                self.buzzer = Buzzer(buzzer, pin_factory=pin_factory)
        except Exception:
            self.close()  # release the pins already claimed: a retry must find them free
            raise

    @property
    def lines(self) -> list[str]:
        return self.console.lines

    def lamp(self, name: str, state: LampState) -> None:
        led = self.leds.get(name)
        if not self.console.remember(name, state) or led is None:
            return
        if state is LampState.BLINK:
            led.blink(on_time=self.blink_s, off_time=self.blink_s)
        elif state is LampState.ON:
            led.on()
        else:
            led.off()

    def beep(self, times: int = 1) -> None:
        self.console.beep(times)
        if self.buzzer is not None:
            self.buzzer.beep(on_time=self.beep_s, off_time=self.beep_s, n=times)

    def say(self, line: str) -> None:
        self.console.say(line)

    def lamp_test(self) -> list[str]:
        for name in self.leds:
            self.lamp(name, LampState.ON)
        driven = list(self.leds)
        if self.buzzer is not None:
            self.beep()
            driven.append("buzzer")
        return driven

    def close(self) -> None:
        for device in (*self.leds.values(), self.buzzer):
            if device is not None:
                device.close()
