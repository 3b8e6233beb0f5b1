"""Indicators: named lamps, a buzzer and console lines on the console, on GPIO, or simulated."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory
from pydantic import TypeAdapter, ValidationError

from edge.runtime.hardware.factory import IndicatorUnavailable, build_indicator
from edge.runtime.hardware.indicator import (
    ConsoleIndicator,
    GpioIndicator,
    LampState,
    SimulatedIndicator,
)
from edge.runtime.hardware.settings import IndicatorSettings, check_lamp_names
from tests.support import wait_until

settings_of = TypeAdapter(IndicatorSettings).validate_python


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    mock = MockFactory()
    yield mock
    mock.reset()


def test_kind_selects_the_backend(factory: MockFactory) -> None:
    assert type(build_indicator(settings_of({"kind": "console"}))) is ConsoleIndicator
    simulated = build_indicator(settings_of({"kind": "simulated", "lamps": ["ready"]}))
    assert isinstance(simulated, SimulatedIndicator) and simulated.lamp_test() == ["ready", "buzzer"]
    gpio = build_indicator(settings_of({"kind": "gpio", "lamps": {"ready": 5}}), pin_factory=factory)
    try:
        assert isinstance(gpio, GpioIndicator)
    finally:
        gpio.close()
    with pytest.raises(IndicatorUnavailable, match="pin factory"):
        build_indicator(settings_of({"kind": "gpio", "lamps": {"ready": 5}, "pin_factory": "no-such"}))


def test_gpio_lamps_light_blink_and_go_out_and_the_buzzer_beeps(factory: MockFactory) -> None:
    indicator = GpioIndicator({"ready": 5, "fault": 6}, 13, pin_factory=factory, blink_s=0.05, beep_s=0.05)
    try:
        indicator.lamp("ready", LampState.ON)
        assert factory.pin(5).state
        indicator.lamp("fault", LampState.BLINK)
        wait_until(lambda: factory.pin(6).state, 5, "the fault lamp on in its blink")
        wait_until(lambda: not factory.pin(6).state, 5, "the fault lamp off in its blink")
        indicator.lamp("fault", LampState.OFF)
        indicator.lamp("ready", LampState.OFF)
        assert not factory.pin(5).state and not factory.pin(6).state
        indicator.beep(2)
        wait_until(lambda: factory.pin(13).state, 5, "the buzzer sounding")
        indicator.say("ready")
        assert indicator.lines == ["ready"]
        assert indicator.lamp_test() == ["ready", "fault", "buzzer"]
        assert factory.pin(5).state and factory.pin(6).state
    finally:
        indicator.close()


def test_a_pin_taken_twice_releases_the_pins_already_claimed(factory: MockFactory) -> None:
    first = GpioIndicator({"ready": 5}, None, pin_factory=factory)
    with pytest.raises(Exception):  # noqa: B017 - gpiozero's own "pin in use" error
        GpioIndicator({"fault": 6, "ready": 5}, None, pin_factory=factory)
    first.close()
    again = GpioIndicator({"fault": 6, "ready": 5}, None, pin_factory=factory)  # 6 was given back
    again.close()


def test_the_simulated_panel_remembers_changes_and_says_which_lamps_differ() -> None:
    panel = SimulatedIndicator(["ready", "fault"])
    panel.lamp("ready", LampState.ON)
    panel.lamp("ready", LampState.ON)  # no change: not history
    panel.lamp("fault", LampState.BLINK)
    panel.beep(2)
    assert panel.history == [("ready", LampState.ON), ("fault", LampState.BLINK)]
    assert panel.beeps == 2
    panel.assert_lamps(ready="on", fault="blink")
    with pytest.raises(AssertionError, match="fault"):
        panel.assert_lamps(fault="off")


def test_lamp_names_and_pins_are_checked_in_configuration() -> None:
    with pytest.raises(ValidationError, match="share a pin"):
        settings_of({"kind": "gpio", "lamps": {"ready": 5}, "buzzer": 5})
    with pytest.raises(ValidationError):
        settings_of({"kind": "gpio", "ready_led_pin": 5})
    with pytest.raises(ValueError, match="unknown lamp.*'redy'"):
        check_lamp_names(settings_of({"kind": "gpio", "lamps": {"redy": 5}}), ("ready", "fault"))
    check_lamp_names(settings_of({"kind": "console"}), ("ready",))
