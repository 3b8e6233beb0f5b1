"""Pin factories: one place chooses, it says which one, and a factory that does not load is an error."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from edge.queue_kiosk.config import KioskConfig
from edge.runtime.hardware.factory import KeypadUnavailable, build_keypad
from edge.runtime.hardware.pins import PinFactoryUnavailable, chosen_name, pin_factory, simulated_pins
from tests.kiosk.conftest import SERVICES, dead_port, kiosk_config


def test_settings_win_over_the_environment_and_lgpio_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "rpigpio")
    assert chosen_name("mock") == ("mock", "settings")
    assert chosen_name(None) == ("rpigpio", "GPIOZERO_PIN_FACTORY")
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY")
    assert chosen_name(None) == ("lgpio", "default")


def test_the_chosen_factory_is_logged_and_simulated_pins_are_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    with caplog.at_level(logging.INFO, logger="edge.runtime.hardware.pins"):
        factory = pin_factory(None, part="kiosk-1 buttons")
    assert isinstance(factory, MockFactory)
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "kiosk-1 buttons" in record.message and "SIMULATED" in record.message
    assert "GPIOZERO_PIN_FACTORY" in record.message


def test_an_unknown_factory_is_an_error_naming_the_known_ones() -> None:
    with pytest.raises(PinFactoryUnavailable, match="no-such-factory.*known: .*lgpio"):
        pin_factory("no-such-factory")


def test_kiosk_buttons_refuse_a_pin_factory_that_does_not_load_instead_of_falling_back(
    tmp_path: Path,
) -> None:
    config: KioskConfig = kiosk_config(
        tmp_path, broker_port=dead_port(), printer_port=dead_port(),
        services=[dict(SERVICES[0], button_pin=17)], buttons={"pin_factory": "no-such-factory"},
    )
    settings = config.button_keypad()
    assert settings is not None
    with pytest.raises(KeypadUnavailable, match="pin factory"):
        build_keypad(settings)


def test_simulated_pins_are_the_default_inside_the_block_only() -> None:
    before = Device.pin_factory
    with simulated_pins() as factory:
        assert Device.pin_factory is factory and isinstance(factory, MockFactory)
    assert Device.pin_factory is before
