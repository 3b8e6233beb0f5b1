"""What the citizen sees and hears: "please rate", "choose a reason", "thank you", and a fault lamp.

`GpioIndicator` drives LEDs and an active buzzer through gpiozero (a
`pin_factory` like every gpiozero device); `NoIndicator` only logs. Both
implement `show(phase, fault)` and `lamp_test()` for the self-test.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from edge.rating_terminal.config import IndicatorSettings
from edge.rating_terminal.session import Phase

log = logging.getLogger(__name__)


class Indicator(Protocol):
    def show(self, phase: Phase, fault: bool) -> None: ...

    def lamp_test(self) -> list[str]:
        """Light every lamp and sound the buzzer once; the names of what was driven."""
        ...

    def close(self) -> None: ...


class NoIndicator:
    """A terminal without lamps (a display is driven elsewhere): phase changes are logged."""

    def __init__(self) -> None:
        self.phase = Phase.IDLE
        self.fault = False

    def show(self, phase: Phase, fault: bool) -> None:
        if (phase, fault) != (self.phase, self.fault):
            log.debug("terminal shows %s%s", phase, " (keypad fault)" if fault else "")
        self.phase, self.fault = phase, fault

    def lamp_test(self) -> list[str]:
        return []

    def close(self) -> None:
        pass


class GpioIndicator:
    """LEDs for each phase and a buzzer that chirps when a rating is asked for and when thanked."""

    def __init__(self, settings: IndicatorSettings, *, pin_factory: Any = None) -> None:
        from gpiozero import LED, Buzzer

        from edge.runtime.hardware.factory import gpio_pin_factory

        factory = pin_factory if pin_factory is not None else gpio_pin_factory(settings.pin_factory)
        self.leds: dict[str, Any] = {}
        for name in ("please_rate_led", "reason_led", "thanks_led", "fault_led"):
            pin = getattr(settings, name)
            if pin is not None:
                self.leds[name] = LED(pin, pin_factory=factory)
        self.buzzer = Buzzer(settings.buzzer, pin_factory=factory) if settings.buzzer is not None else None
        self.phase = Phase.IDLE
        self.fault = False

    def show(self, phase: Phase, fault: bool) -> None:
        lit = {Phase.ARMED: "please_rate_led", Phase.REASON: "reason_led", Phase.THANKS: "thanks_led"}
        for name, led in self.leds.items():
            if name == "fault_led":
                led.value = fault
            elif name == lit.get(phase):
                if phase is Phase.THANKS:
                    led.on()
                else:
                    led.blink(on_time=0.4, off_time=0.4)
            else:
                led.off()
        if self.buzzer is not None and phase != self.phase and phase in (Phase.ARMED, Phase.THANKS):
            self.buzzer.beep(on_time=0.08, off_time=0.08, n=1 if phase is Phase.ARMED else 2)
        self.phase, self.fault = phase, fault

    def lamp_test(self) -> list[str]:
        driven = []
        for name, led in self.leds.items():
            led.on()
            driven.append(name)
        if self.buzzer is not None:
            self.buzzer.beep(on_time=0.1, off_time=0.1, n=1)
            driven.append("buzzer")
        return driven

    def close(self) -> None:
        for led in self.leds.values():
            led.close()
        if self.buzzer is not None:
            self.buzzer.close()


def build_indicator(settings: IndicatorSettings, *, pin_factory: Any = None) -> Indicator:
    if settings.kind == "gpio":
        return GpioIndicator(settings, pin_factory=pin_factory)
    return NoIndicator()
