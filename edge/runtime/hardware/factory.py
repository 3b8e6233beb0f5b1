"""`build_keypad(settings)`: the adapter configuration asks for, or a loud error. Never a fallback."""

from __future__ import annotations

import os
from importlib.metadata import entry_points
from typing import Any, TextIO

from edge.runtime.hardware.keys import ObservableKeypad, SimulatedKeypad
from edge.runtime.hardware.settings import (
    ConsoleKeypadSettings,
    FramedSerialKeypadSettings,
    GpioKeypadSettings,
    KeypadSettings,
    ModbusKeypadSettings,
    SimulatedKeypadSettings,
)


class KeypadUnavailable(RuntimeError):
    """The configured keypad cannot be opened: missing library, device or port."""


def gpio_pin_factory(name: str | None) -> Any:
    """The named gpiozero pin factory; with no name, GPIOZERO_PIN_FACTORY, else lgpio.

    gpiozero itself would quietly fall back from lgpio to its 'native' factory;
    a rating terminal whose buttons silently stop working is worse than one that
    refuses to start, so the choice here is always explicit.
    """
    chosen = name or os.environ.get("GPIOZERO_PIN_FACTORY") or "lgpio"
    if chosen.lower() == "mock":
        from gpiozero.pins.mock import MockFactory

        return MockFactory()
    for entry in entry_points(group="gpiozero_pin_factories"):
        if entry.name.lower() == chosen.lower():
            try:
                return entry.load()()
            except Exception as exc:
                raise KeypadUnavailable(f"gpio pin factory {chosen!r} failed to start: {exc}") from exc
    raise KeypadUnavailable(f"no gpiozero pin factory named {chosen!r}")


def build_keypad(
    settings: KeypadSettings,
    *,
    pin_factory: Any = None,
    stream: TextIO | None = None,
    source: str | None = None,
) -> ObservableKeypad:
    """Open the keypad `settings.kind` names. `pin_factory`/`stream` let tests inject doubles."""
    try:
        return _build(settings, pin_factory, stream, source)
    except KeypadUnavailable:
        raise
    except Exception as exc:
        raise KeypadUnavailable(f"keypad ({settings.kind}) cannot be opened: {exc}") from exc


def _build(settings: KeypadSettings, pin_factory: Any, stream: TextIO | None,
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
            pin_factory=pin_factory if pin_factory is not None else gpio_pin_factory(settings.pin_factory),
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
