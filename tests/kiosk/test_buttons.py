"""Service buttons: our own debounce (gpiozero's mock pins ignore bounce_time) and the keypad entry."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from edge.queue_kiosk.buttons import Debouncer, RepeatGuard, ServiceButtons
from edge.queue_kiosk.config import ButtonSettings
from edge.queue_kiosk.entry import CodeEntered, EntryRejected, KeypadEntry, ServiceChosen
from edge.queue_kiosk.kiosk import Kiosk
from edge.queue_kiosk.printer.sim import SimulatedPrinter
from edge.queue_kiosk.printer.stream import text_lines
from tests.kiosk.conftest import SERVICES, dead_port, kiosk_config
from tests.support import wait_until


def test_a_bouncing_contact_is_one_press_once_it_settles() -> None:
    debouncer = Debouncer(settle_ms=30)
    assert debouncer.edge(True, 0) == 30
    assert debouncer.edge(False, 3) is None  # bounce
    assert debouncer.edge(True, 5) == 35
    assert not debouncer.check(30)
    assert debouncer.check(35)
    assert not debouncer.check(500)  # held: still one press
    debouncer.edge(False, 600)
    debouncer.edge(True, 700)
    assert debouncer.check(730)


def test_a_spike_shorter_than_the_settle_time_is_no_press() -> None:
    debouncer = Debouncer(settle_ms=30)
    debouncer.edge(True, 0)
    debouncer.edge(False, 10)
    assert not debouncer.check(30)


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


def test_gpio_buttons_deliver_one_debounced_press_per_push(factory: MockFactory) -> None:
    presses: list[str] = []
    pressed = threading.Event()

    def on_press(prefix: str, _at: int) -> None:
        presses.append(prefix)
        pressed.set()

    buttons = ServiceButtons({"A": 17, "B": 27}, ButtonSettings(settle_ms=20, repeat_guard_ms=0), on_press,
                             pin_factory=factory)
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
        buttons.close()


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


def test_the_keypad_chooses_services_by_digit_and_takes_appointment_codes() -> None:
    entry = KeypadEntry({"1", "2"}, code_length=6, timeout_ms=20_000)
    assert entry.press("2", 0) is None
    assert entry.press("enter", 10) == ServiceChosen("2")
    for n, key in enumerate("246810"):
        entry.press(key, 20 + n)
    assert entry.press("#", 30) == CodeEntered("246810")
    entry.press("9", 40)
    assert isinstance(entry.press("enter", 50), EntryRejected)
    entry.press("1", 60)
    entry.press("clear", 70)
    assert entry.press("enter", 80) is None


def test_a_half_typed_entry_is_forgotten_before_the_next_citizen() -> None:
    entry = KeypadEntry({"1"}, code_length=6, timeout_ms=20_000)
    entry.press("2", 0)
    entry.press("4", 1)
    entry.press("1", 60_000)  # a new citizen, a minute later
    assert entry.press("enter", 60_010) == ServiceChosen("1")
