"""Service buttons: a GPIO keypad keyed by service prefix, settle-debounced, and the keypad entry.

The settle debounce itself (bounces, spikes) is specified in tests/keypad/test_debounce.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from edge.queue_kiosk.entry import CodeEntered, EntryRefused, KeypadEntry, ServiceChosen
from edge.queue_kiosk.kiosk import Kiosk
from edge.queue_kiosk.printer.sim import SimulatedPrinter
from edge.queue_kiosk.printer.stream import text_lines
from edge.queue_kiosk.repeat import RepeatGuard
from edge.runtime.hardware.factory import build_keypad
from edge.runtime.hardware.keys import KeyPress, SimulatedKeypad
from tests.kiosk.conftest import SERVICES, dead_port, kiosk_config
from tests.support import wait_until


def test_a_double_tap_gives_one_ticket() -> None:
    guard = RepeatGuard(1500)
    assert guard.allow(0)
    assert not guard.allow(900)
    assert guard.allow(1600)


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    mock = MockFactory()
    yield mock
    mock.reset()


def test_gpio_buttons_deliver_one_debounced_press_per_push(factory: MockFactory, tmp_path: Path) -> None:
    presses: list[str] = []
    pressed = threading.Event()

    def on_press(press: KeyPress) -> None:
        presses.append(press.key)
        pressed.set()

    services = [dict(SERVICES[0], button_pin=17), dict(SERVICES[1], button_pin=27)]
    config = kiosk_config(tmp_path, broker_port=dead_port(), printer_port=dead_port(), services=services,
                          buttons={"settle_ms": 20, "repeat_guard_ms": 0})
    settings = config.button_keypad()
    assert settings is not None and settings.keys == {"A": 17, "B": 27}
    buttons = build_keypad(settings, pin_factory=factory)
    buttons.start(on_press)
    try:
        pin = factory.pin(17)
        for _ in range(5):  # contact bounce: a burst of edges within a few ms
            pin.drive_low()
            pin.drive_high()
        pin.drive_low()
        assert pressed.wait(5)
        threading.Event().wait(0.2)  # held well past the settle time: must stay one press
        pin.drive_high()
        assert presses == ["A"]
        pressed.clear()
        factory.pin(27).drive_low()
        assert pressed.wait(5)
        factory.pin(27).drive_high()
        assert presses == ["A", "B"]
    finally:
        buttons.stop()


def test_pressing_a_gpio_button_prints_a_ticket(
    tmp_path: Path, printer: SimulatedPrinter, factory: MockFactory
) -> None:
    services = [dict(SERVICES[0], button_pin=17), dict(SERVICES[1], button_pin=27)]
    config = kiosk_config(tmp_path, broker_port=dead_port(), printer_port=printer.port, services=services,
                          buttons={"settle_ms": 10})
    kiosk = Kiosk(config, pin_factory=factory)
    kiosk.start()
    try:
        factory.pin(27).drive_low()
        [job] = printer.wait_for_jobs(1)
        factory.pin(27).drive_high()
        assert "B001" in text_lines(job.tokens)
        wait_until(lambda: kiosk.counters["issued"] == 1, 5, "the issue to be counted")
    finally:
        kiosk.stop()


def test_a_double_tap_on_the_service_buttons_prints_one_ticket(
    tmp_path: Path, printer: SimulatedPrinter
) -> None:
    config = kiosk_config(tmp_path, broker_port=dead_port(), printer_port=printer.port,
                          buttons={"repeat_guard_ms": 1500})
    buttons = SimulatedKeypad("buttons")
    kiosk = Kiosk(config, buttons=buttons)
    kiosk.start()
    try:
        buttons.press("A")
        buttons.press("B")  # the same citizen, a moment later, on the next button
        [job] = printer.wait_for_jobs(1)
        assert "A001" in text_lines(job.tokens)
        assert kiosk.counters["issued"] == 1 and printer.job_count() == 1
    finally:
        kiosk.stop()


def test_the_keypad_chooses_services_by_digit_and_takes_appointment_codes() -> None:
    entry = KeypadEntry({"1", "2"}, code_length=6, timeout_ms=20_000)
    assert entry.press("2", 0) is None
    assert entry.press("enter", 10) == ServiceChosen("2")
    for n, key in enumerate("246810"):
        entry.press(key, 20 + n)
    assert entry.press("#", 30) == CodeEntered("246810")
    entry.press("9", 40)
    assert isinstance(entry.press("enter", 50), EntryRefused)
    entry.press("1", 60)
    entry.press("clear", 70)
    assert entry.press("enter", 80) is None


def test_a_half_typed_entry_is_forgotten_before_the_next_citizen() -> None:
    entry = KeypadEntry({"1"}, code_length=6, timeout_ms=20_000)
    entry.press("2", 0)
    entry.press("4", 1)
    entry.press("1", 60_000)  # a new citizen, a minute later
    assert entry.press("enter", 60_010) == ServiceChosen("1")
