"""`build_keypad`: the configured adapter or a loud error, chosen by `kind`."""

from __future__ import annotations

import io

import pytest
from pydantic import TypeAdapter, ValidationError

from edge.runtime.hardware.console import ConsoleKeypad
from edge.runtime.hardware.factory import KeypadUnavailable, build_keypad
from edge.runtime.hardware.gpio import GpioKeypad
from edge.runtime.hardware.keys import ObservableKeypad, SimulatedKeypad
from edge.runtime.hardware.settings import KeypadSettings

settings_of = TypeAdapter(KeypadSettings).validate_python


def test_kind_selects_the_adapter() -> None:
    assert isinstance(build_keypad(settings_of({"kind": "simulated"})), SimulatedKeypad)
    console = build_keypad(settings_of({"kind": "console"}), stream=io.StringIO(""))
    assert isinstance(console, ConsoleKeypad) and isinstance(console, ObservableKeypad)
    gpio = build_keypad(settings_of({"kind": "gpio", "pin_factory": "mock", "keys": {"1": 17}}))
    try:
        assert isinstance(gpio, GpioKeypad)
    finally:
        gpio.stop()


def test_an_unknown_kind_or_key_is_a_configuration_error() -> None:
    with pytest.raises(ValidationError):
        settings_of({"kind": "bluetooth"})
    with pytest.raises(ValidationError):
        settings_of({"kind": "gpio", "debounce": 30})


def test_a_missing_pin_factory_fails_loudly_instead_of_falling_back() -> None:
    with pytest.raises(KeypadUnavailable, match="pin factory"):
        build_keypad(settings_of({"kind": "gpio", "pin_factory": "no-such-factory"}))


def test_a_missing_serial_port_fails_loudly() -> None:
    with pytest.raises(KeypadUnavailable):
        build_keypad(settings_of({"kind": "framed_serial", "port": "/dev/no-such-tty"}))
    with pytest.raises(KeypadUnavailable):
        build_keypad(settings_of({"kind": "modbus", "port": "/dev/no-such-tty"}))
