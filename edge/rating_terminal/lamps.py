"""What the citizen sees and hears in each phase: "please rate", "choose a reason", "thank you", a fault lamp.

The lamps are the terminal's named lamps on any `Indicator` (LEDs through
gpiozero, the console, a simulated panel): *please rate* and *reason* blink
while a key is awaited, *thanks* is lit while "thank you" shows, *fault* while
the keypad is unreachable; the buzzer chirps once when a rating is asked for
and twice when thanked. An evaluator with a screen or LEDs of its own is told
the same phase as a prompt (`edge.runtime.hardware.prompt`), with the seconds
it lasts, and "out of order" when the terminal stops taking ratings.
"""

from __future__ import annotations

import math

from edge.rating_terminal.config import LAMPS, RatingRules
from edge.rating_terminal.session import Phase
from edge.runtime.hardware.indicator import Indicator, LampState
from edge.runtime.hardware.prompt import Prompt, PromptingKeypad, Showing

PHASE_LAMPS = tuple(name for name in LAMPS if name != "fault")
_LIT = {Phase.ARMED: ("please_rate", LampState.BLINK), Phase.REASON: ("reason", LampState.BLINK),
        Phase.THANKS: ("thanks", LampState.ON)}
_CHIRPS = {Phase.ARMED: 1, Phase.THANKS: 2}
_PROMPTS = {Phase.IDLE: Prompt.IDLE, Phase.ARMED: Prompt.PLEASE_RATE, Phase.REASON: Prompt.REASONS,
            Phase.THANKS: Prompt.THANKS}


class TerminalLamps:
    """Shows the session's phase and the keypad's health on the terminal's indicator, and the
    phase on the evaluator's own screen when it has one."""

    def __init__(self, indicator: Indicator, device: PromptingKeypad | None = None,
                 rules: RatingRules | None = None) -> None:
        self.indicator = indicator
        self.device = device
        self.seconds = {Phase.ARMED: rules.arm_window_s, Phase.REASON: rules.reason_window_s,
                        Phase.THANKS: rules.thanks_s} if rules is not None else {}
        self.phase = Phase.IDLE
        self.fault = False
        self._prompted: Phase | None = None

    def show(self, phase: Phase, fault: bool) -> None:
        lit, state = _LIT.get(phase, (None, LampState.OFF))
        for name in PHASE_LAMPS:
            self.indicator.lamp(name, state if name == lit else LampState.OFF)
        self.indicator.lamp("fault", LampState.ON if fault else LampState.OFF)
        if phase != self.phase and phase in _CHIRPS:
            self.indicator.beep(_CHIRPS[phase])
        if self.device is not None and phase != self._prompted:
            self.device.show(Showing(_PROMPTS[phase], math.ceil(self.seconds.get(phase, 0))))
            self._prompted = phase
        self.phase, self.fault = phase, fault

    def out_of_order(self) -> None:
        """The terminal stops taking ratings: the evaluator must not look ready."""
        if self.device is not None:
            self.device.show(Showing(Prompt.OUT_OF_ORDER))
            self._prompted = None
