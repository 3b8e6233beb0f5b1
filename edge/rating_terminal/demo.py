"""A simulated rating terminal for `hall demo`: a SimulatedKeypad whose citizen rates when asked.

    terminal = start_demo_terminal(BrokerSettings(port=port), "hall-01", "3", root / "rating-w3")
    ...
    summary = terminal.stop()

The gateway must know the terminal's window: list it in `[devices] known` as
`{id = "rating-w3", kind = "rating", window = "3"}` (or `[ratings.windows."3"] terminals`).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.rating_terminal.agent import RatingTerminal
from edge.rating_terminal.config import RatingTerminalConfig
from edge.rating_terminal.session import Phase
from edge.runtime.hardware.keys import SimulatedKeypad
from spine.config import BrokerSettings

log = logging.getLogger(__name__)

# What simulated citizens press: mostly content, sometimes not, now and then nothing at all.
DEMO_CHOICES: list[tuple[str | None, int]] = [
    ("1", 40), ("2", 30), ("3", 12), ("4", 5), ("5", 3), (None, 10),
]


@dataclass
class DemoTerminal:
    """What `start_demo_terminal` returns."""

    terminal: RatingTerminal
    keypad: SimulatedKeypad
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def summary(self) -> dict[str, Any]:
        return {"device": self.terminal.config.device.id, "window": self.terminal.config.device.window,
                **self.terminal.counts}

    def stop(self) -> dict[str, Any]:
        summary = self.summary()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.terminal.stop()
        return summary


def demo_config(broker: BrokerSettings, hall: str, window: str, data_dir: Path,
                device: str | None = None, **rating: Any) -> RatingTerminalConfig:
    return RatingTerminalConfig.model_validate({
        "device": {"id": device or f"rating-w{window}", "hall": hall, "kind": "rating", "window": window},
        "broker": broker.model_dump(),
        "outbox": {"path": str(data_dir / "outbox.sqlite")},
        "data_dir": str(data_dir),
        "keypad": {"kind": "simulated", "source": device or f"rating-w{window}"},
        "rating": {"arm_window_s": 10.0, "thanks_s": 1.0, **rating},
    })


def start_demo_terminal(broker: BrokerSettings, hall: str, window: str, data_dir: Path, *,
                        device: str | None = None, think_s: tuple[float, float] = (0.5, 2.0),
                        officer_every_s: float | None = None, seed: int | None = None) -> DemoTerminal:
    """Start a terminal at `window` whose simulated citizen rates (or not) each time it is armed.

    With `officer_every_s`, a simulated officer also presses "please rate" that often while the
    terminal is idle, for a demo without window callers (the gateway then attributes the rating
    to whoever is logged in at the window, or to the window's department).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    keypad = SimulatedKeypad(device or f"rating-w{window}")
    terminal = RatingTerminal(demo_config(broker, hall, window, data_dir, device), keypad=keypad)
    demo = DemoTerminal(terminal, keypad)
    chance = random.Random(seed)
    keys, weights = zip(*DEMO_CHOICES, strict=True)
    reasons = [r.key for r in terminal.config.rating.reasons]

    def citizen() -> None:
        idle_since = time.monotonic()
        while not demo._stop.wait(0.2):
            if terminal.session.phase is Phase.IDLE and officer_every_s is not None and (
                    time.monotonic() - idle_since >= officer_every_s):
                keypad.press(terminal.config.rating.please_rate_key)
            if terminal.session.phase is not Phase.ARMED:
                continue
            idle_since = time.monotonic()
            choice = chance.choices(keys, weights)[0]
            if demo._stop.wait(chance.uniform(*think_s)) or choice is None:
                continue  # None: walks away; the arming runs out as "not rated"
            keypad.press(choice)
            grade = terminal.config.rating.grades.get(choice)
            # A bad grade: read the reasons (longer than the mashing window), then choose one.
            if grade is not None and grade.bad and not demo._stop.wait(
                    terminal.config.rating.mash_ms / 1000 + 0.5):
                keypad.press(chance.choice(reasons))

    terminal.start()
    demo._thread = threading.Thread(target=citizen, daemon=True, name=f"demo-citizen-{window}")
    demo._thread.start()
    log.info("demo rating terminal at window %s", window)
    return demo
