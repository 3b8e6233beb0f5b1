"""`build_keypad(settings)`, `build_indicator(settings)`: what configuration asks for, or a loud error.

Never a fallback: a configured GPIO keypad whose pin factory does not load, or a
serial port that is not there, stops the agent at start-up with the reason.
`pin_factory` and `stream` let tests inject doubles (gpiozero's MockFactory, a
StringIO); otherwise `edge.runtime.hardware.pins` chooses the pin factory.
"""

from __future__ import annotations

from typing import Any, TextIO

from edge.runtime.hardware.indicator import ConsoleIndicator, GpioIndicator, Indicator, SimulatedIndicator
from edge.runtime.hardware.keys import ObservableKeypad, SimulatedKeypad
from edge.runtime.hardware.pins import pin_factory as choose_pin_factory
from edge.runtime.hardware.settings import (
    ConsoleKeypadSettings,
    FramedSerialKeypadSettings,
    GpioIndicatorSettings,
    GpioKeypadSettings,
    IndicatorSettings,
    KeypadSettings,
    ModbusKeypadSettings,
    SimulatedIndicatorSettings,
    SimulatedKeypadSettings,
)


class HardwareUnavailable(RuntimeError):
    """A configured part cannot be opened: missing library, device, port or pin factory."""


class KeypadUnavailable(HardwareUnavailable):
    """The configured keypad cannot be opened."""


class IndicatorUnavailable(HardwareUnavailable):
    """The configured lamps or buzzer cannot be driven."""


def build_keypad(
    settings: KeypadSettings,
    *,
    pin_factory: Any = None,
    stream: TextIO | None = None,
    source: str | None = None,
) -> ObservableKeypad:
    """Open the keypad `settings.kind` names."""
    try:
        return _keypad(settings, pin_factory, stream, source)
    except KeypadUnavailable:
        raise
    except Exception as exc:
        raise KeypadUnavailable(f"keypad ({settings.kind}) cannot be opened: {exc}") from exc


def build_indicator(settings: IndicatorSettings, *, pin_factory: Any = None,
                    source: str | None = None) -> Indicator:
    """Open the lamps and buzzer `settings.kind` names."""
    try:
        return _indicator(settings, pin_factory, source)
    except Exception as exc:
        raise IndicatorUnavailable(f"indicator ({settings.kind}) cannot be opened: {exc}") from exc


def _keypad(settings: KeypadSettings, pin_factory: Any, stream: TextIO | None,
            source: str | None) -> ObservableKeypad:
    if isinstance(settings, SimulatedKeypadSettings):
        return SimulatedKeypad(source or settings.source)
    if isinstance(settings, GpioKeypadSettings):
        from edge.runtime.hardware.gpio import GpioKeypad

        return GpioKeypad(
            settings.keys,
            pull_up=settings.pull_up,
            bounce_ms=settings.bounce_ms,
            hold_ms=settings.hold_ms,
            debounce_mode=settings.debounce_mode,
            pin_factory=_pins(pin_factory, settings.pin_factory, f"{source or 'gpio'} keys"),
            source=source or "gpio",
        )
    if isinstance(settings, ConsoleKeypadSettings):
        from edge.runtime.hardware.console import ConsoleKeypad, EvdevKeypad

        if settings.device is not None:
            return EvdevKeypad(settings.device, settings.keys, grab=settings.grab,
                               source=source or "evdev")
        return ConsoleKeypad(settings.keys, stream=stream, source=source or "console")
    if isinstance(settings, ModbusKeypadSettings):
        from edge.runtime.hardware.modbus import ModbusKeypad

        return ModbusKeypad(settings, source=source or "modbus")
    if isinstance(settings, FramedSerialKeypadSettings):
        from edge.runtime.hardware.framed_serial import FramedSerialKeypad

        return FramedSerialKeypad(settings, source=source or "framed")
    raise KeypadUnavailable(f"unknown keypad kind {getattr(settings, 'kind', settings)!r}")


def _indicator(settings: IndicatorSettings, pin_factory: Any, source: str | None) -> Indicator:
    if isinstance(settings, GpioIndicatorSettings):
        return GpioIndicator(
            settings.lamps, settings.buzzer,
            pin_factory=_pins(pin_factory, settings.pin_factory, f"{source or 'gpio'} lamps"),
            blink_s=settings.blink_s, beep_s=settings.beep_s, source=source or "gpio",
        )
    if isinstance(settings, SimulatedIndicatorSettings):
        return SimulatedIndicator(settings.lamps, source=source or "sim")
    return ConsoleIndicator(source or "console")


def _pins(injected: Any, configured: str | None, part: str) -> Any:
    return injected if injected is not None else choose_pin_factory(configured, part=part)
