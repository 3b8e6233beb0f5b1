"""What the citizen sees and hears in each phase: "please rate", "choose a reason", "thank you", a fault lamp.

The lamps are the terminal's named lamps on any `Indicator` (LEDs through
gpiozero, the console, a simulated panel): *please rate* and *reason* blink
while a key is awaited, *thanks* is lit while "thank you" shows, *fault* while
the keypad is unreachable; the buzzer chirps once when a rating is asked for
and twice when thanked.
"""

from __future__ import annotations

from edge.rating_terminal.config import LAMPS
from edge.rating_terminal.session import Phase
from edge.runtime.hardware.indicator import Indicator, LampState

PHASE_LAMPS = tuple(name for name in LAMPS if name != "fault")
_LIT = {Phase.ARMED: ("please_rate", LampState.BLINK), Phase.REASON: ("reason", LampState.BLINK),
        Phase.THANKS: ("thanks", LampState.ON)}
_CHIRPS = {Phase.ARMED: 1, Phase.THANKS: 2}


class TerminalLamps:
    """Shows the session's phase and the keypad's health on the terminal's indicator."""

    def __init__(self, indicator: Indicator) -> None:
        self.indicator = indicator
        self.phase = Phase.IDLE
        self.fault = False

    def show(self, phase: Phase, fault: bool) -> None:
        lit, state = _LIT.get(phase, (None, LampState.OFF))
        for name in PHASE_LAMPS:
            self.indicator.lamp(name, state if name == lit else LampState.OFF)
        self.indicator.lamp("fault", LampState.ON if fault else LampState.OFF)
        if phase != self.phase and phase in _CHIRPS:
            self.indicator.beep(_CHIRPS[phase])
        self.phase, self.fault = phase, fault
