"""The one place that chooses a gpiozero pin factory, and says which one it chose.

gpiozero on its own tries lgpio, then RPi.GPIO, pigpio and finally its 'native'
factory, quietly: a kiosk whose buttons silently stop working, or a rating
terminal whose lamps never light, is worse than one that refuses to start. So
every GPIO part of an agent (buttons, keypads, LEDs, a buzzer) gets its factory
from `pin_factory()`: the name in settings, else `GPIOZERO_PIN_FACTORY`, else
lgpio (what Raspberry Pi OS Bookworm ships); one that does not load is an
error, and the choice is logged, with a warning when the pins are simulated.

`simulated_pins()` installs gpiozero's `MockFactory` as the default for a test
and restores the previous one afterwards, like gpiozero's own `mock_factory`
fixture; drive its pins with `factory.pin(17).drive_low()`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Any

log = logging.getLogger(__name__)

ENVIRONMENT = "GPIOZERO_PIN_FACTORY"
DEFAULT = "lgpio"
SIMULATED = "mock"


class PinFactoryUnavailable(RuntimeError):
    """The pin factory configuration names cannot be loaded (unknown name, library or chip missing)."""


def chosen_name(configured: str | None) -> tuple[str, str]:
    """(factory name, where the choice came from): settings, then the environment, then lgpio."""
    if configured:
        return configured, "settings"
    from_environment = os.environ.get(ENVIRONMENT)
    if from_environment:
        return from_environment, ENVIRONMENT
    return DEFAULT, "default"


def pin_factory(configured: str | None, *, part: str = "gpio") -> Any:
    """The gpiozero pin factory for `part` (a log label): loaded now, or PinFactoryUnavailable."""
    name, origin = chosen_name(configured)
    factory = _load(name)
    if name.lower() == SIMULATED:
        log.warning("%s: pins are SIMULATED (gpiozero %s factory, from %s): no real button, LED or "
                    "buzzer on this device works", part, name, origin)
    else:
        log.info("%s: gpiozero pin factory %s (from %s)", part, name, origin)
    return factory


def _load(name: str) -> Any:
    for entry in entry_points(group="gpiozero_pin_factories"):
        if entry.name.lower() == name.lower():
            try:
                return entry.load()()
            except Exception as exc:
                raise PinFactoryUnavailable(f"gpio pin factory {name!r} failed to start: {exc}") from exc
    known = sorted(entry.name for entry in entry_points(group="gpiozero_pin_factories"))
    raise PinFactoryUnavailable(f"no gpiozero pin factory named {name!r} (known: {', '.join(known)})")


@contextmanager
def simulated_pins() -> Iterator[Any]:
    """gpiozero's MockFactory as every device's default for the block; the previous default after it."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    previous = Device.pin_factory
    factory = MockFactory()
    Device.pin_factory = factory
    try:
        yield factory
    finally:
        factory.reset()
        Device.pin_factory = previous
