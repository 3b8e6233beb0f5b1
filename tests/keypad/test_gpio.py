"""GPIO buttons through gpiozero's MockFactory: debounced by our logic, holds reported."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from edge.runtime.hardware.gpio import GpioKeypad
from edge.runtime.hardware.keys import KeyEvent, KeyEventKind, KeyPress
from edge.runtime.hardware.pins import simulated_pins


class FakeClock:
    def __init__(self) -> None:
        self.now = 10_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def mock_factory() -> Iterator[MockFactory]:
    with simulated_pins() as factory:
        yield factory


@pytest.fixture
def keypad(
    mock_factory: MockFactory,
) -> Iterator[tuple[GpioKeypad, FakeClock, list[KeyPress], list[KeyEvent]]]:
    clock = FakeClock()
    pad = GpioKeypad({"1": 5, "2": 6, "please_rate": 21}, bounce_ms=30, hold_ms=1000,
                     pin_factory=mock_factory, clock=clock)
    presses: list[KeyPress] = []
    events: list[KeyEvent] = []
    pad.on_event(events.append)
    pad.start(presses.append)
    yield pad, clock, presses, events
    pad.stop()


def pin(factory: MockFactory, number: int):  # type: ignore[no-untyped-def]
    return factory.pin(number)


def test_pressing_a_button_delivers_its_configured_key(keypad, mock_factory) -> None:  # type: ignore[no-untyped-def]
    pad, clock, presses, _ = keypad
    pin(mock_factory, 6).drive_low()
    clock.now += 80
    pin(mock_factory, 6).drive_high()
    pin(mock_factory, 21).drive_low()
    assert [p.key for p in presses] == ["2", "please_rate"]
    assert presses[0].source == "gpio"


def test_bouncing_contacts_make_one_press(keypad, mock_factory) -> None:  # type: ignore[no-untyped-def]
    pad, clock, presses, events = keypad
    p = pin(mock_factory, 5)
    for _ in range(4):
        p.drive_low()
        clock.now += 2
        p.drive_high()
        clock.now += 2
    p.drive_low()
    clock.now += 200
    pad.tick()
    assert [x.key for x in presses] == ["1"]
    assert sum(e.kind == KeyEventKind.BOUNCE for e in events) == 8


def test_a_held_button_is_reported_held_without_extra_presses(keypad, mock_factory) -> None:  # type: ignore[no-untyped-def]
    pad, clock, presses, events = keypad
    pin(mock_factory, 5).drive_low()
    for _ in range(50):
        clock.now += 100
        pad.tick()
    pin(mock_factory, 5).drive_high()
    assert len(presses) == 1
    assert [e.kind for e in events if e.kind != KeyEventKind.BOUNCE] == [KeyEventKind.HELD,
                                                                          KeyEventKind.RELEASE]


def test_the_ticker_thread_reports_a_hold_in_real_time(mock_factory) -> None:  # type: ignore[no-untyped-def]
    import threading

    pad = GpioKeypad({"1": 5}, bounce_ms=10, hold_ms=150, pin_factory=mock_factory)
    held = threading.Event()
    pad.on_event(lambda e: held.set() if e.kind == KeyEventKind.HELD else None)
    pad.start(lambda p: None)
    try:
        mock_factory.pin(5).drive_low()
        assert held.wait(5.0)
    finally:
        pad.stop()


def test_two_keys_on_one_pin_are_refused() -> None:
    from pydantic import ValidationError

    from edge.runtime.hardware.settings import GpioKeypadSettings

    with pytest.raises(ValidationError, match="share a pin"):
        GpioKeypadSettings(kind="gpio", keys={"1": 5, "2": 5})
