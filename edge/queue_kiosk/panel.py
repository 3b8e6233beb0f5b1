"""Telling the citizen and the technician what the kiosk is doing, on its indicator.

The ready lamp is lit while tickets can be printed; the fault lamp blinks while
they cannot; a refused press beeps twice and says the reason on the console
(the kiosk's screen, when it has one, reads the same lines).
"""

from __future__ import annotations

from edge.runtime.hardware.indicator import Indicator, LampState


class KioskPanel:
    """The kiosk's three messages (ready or not, a ticket, a refusal) as lamps, beeps and lines."""

    def __init__(self, indicator: Indicator) -> None:
        self.indicator = indicator

    def ready(self, ok: bool, reason: str) -> None:
        """Tickets can (ok) or cannot be printed, and why."""
        self.indicator.lamp("ready", LampState.ON if ok else LampState.OFF)
        self.indicator.lamp("fault", LampState.OFF if ok else LampState.BLINK)
        self.indicator.say("ready" if ok else f"out of service: {reason}")

    def issued(self, label: str) -> None:
        self.indicator.say(f"ticket {label}")

    def refused(self, reason: str) -> None:
        self.indicator.say(f"no ticket: {reason}")
        self.indicator.beep(2)
