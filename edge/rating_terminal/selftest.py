"""`hall rating selftest`: every key asked for and pressed, every lamp lit, then the gateway round trip.

The technician presses each key when asked (a key that never comes is a failed
step: a broken switch or a wrong pin in configuration), watches the lamps light,
and the result goes to the gateway as `device.selftest` (a pass makes the device
active). `snapshot` is `hall rating diagnostics`: the state without connecting.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import Any

from contract.events.rating import GRADE_LABELS
from edge.rating_terminal.config import RatingTerminalConfig
from edge.runtime.agent import EdgeAgent
from edge.runtime.hardware.factory import (
    IndicatorUnavailable,
    KeypadUnavailable,
    build_indicator,
    build_keypad,
)
from edge.runtime.hardware.indicator import Indicator
from edge.runtime.hardware.keys import Keypad, KeyPress
from edge.runtime.selftest import SelfTestReport, Step, StepFailed, run_selftest


def keys_to_test(config: RatingTerminalConfig) -> list[tuple[str, str]]:
    """(key name, what it means) for every key the terminal uses, grades first."""
    rules = config.rating
    keys = [(key, GRADE_LABELS[grade]) for key, grade in rules.grades.items()]
    keys.append((rules.please_rate_key, "请评价 (officer)"))
    seen = {key for key, _ in keys}
    keys.extend((r.key, f"reason {r.label}") for r in rules.reasons if r.key not in seen)
    return keys


class KeyCheck:
    """Presses from the keypad under test, waited for one key at a time."""

    def __init__(self, keypad: Keypad, out: Callable[[str], None], timeout_s: float) -> None:
        self.keypad = keypad
        self.out = out
        self.timeout_s = timeout_s
        self.presses: queue.Queue[KeyPress] = queue.Queue()

    def step(self, key: str, meaning: str) -> Step:
        def check() -> str:
            self.out(f"  press the key for {meaning} ({key}) ...")
            deadline = time.monotonic() + self.timeout_s
            wrong: list[str] = []
            while (left := deadline - time.monotonic()) > 0:
                try:
                    press = self.presses.get(timeout=left)
                except queue.Empty:
                    break
                if press.key == key:
                    return f"pressed{' (after ' + ', '.join(wrong) + ')' if wrong else ''}"
                wrong.append(press.key)
            raise StepFailed(f"not pressed within {self.timeout_s:.0f} s"
                             f"{': got ' + ', '.join(wrong) if wrong else ''}; check the switch and its "
                             "entry in [keypad]")

        return Step(f"key {key}", check, timeout_s=self.timeout_s + 5)


def failed_step(name: str, reason: str) -> Step:
    """A step that fails with `reason`: a part that could not even be opened."""
    def fail() -> str:
        raise StepFailed(reason)

    return Step(name, fail)


def lamp_step(indicator: Indicator) -> Step:
    def check() -> str:
        driven = indicator.lamp_test()
        return f"lit {', '.join(driven)}: check each one is on" if driven else "no lamps configured"

    return Step("lamps and buzzer", check)


def selftest(
    config: RatingTerminalConfig,
    *,
    out: Callable[[str], None] = print,
    keypad: Keypad | None = None,
    indicator: Indicator | None = None,
    key_timeout_s: float = 20.0,
    **options: Any,
) -> SelfTestReport:
    """Run the whole self-test (with the terminal's service stopped: they share one device id)."""
    steps: list[Step] = []
    opened: list[Any] = []
    try:
        if keypad is None:
            keypad = build_keypad(config.keypad, source=config.device.id)
            opened.append(keypad)
    except KeypadUnavailable as exc:
        steps.append(failed_step("keypad", str(exc)))
    if keypad is not None:
        checker = KeyCheck(keypad, out, key_timeout_s)
        keypad.start(checker.presses.put)
        steps.append(Step("keypad", lambda: f"{config.keypad.kind} keypad open"))
        steps.extend(checker.step(key, meaning) for key, meaning in keys_to_test(config))
    try:
        if indicator is None:
            indicator = build_indicator(config.indicator, source=config.device.id)
        steps.append(lamp_step(indicator))
    except IndicatorUnavailable as exc:
        steps.append(failed_step("lamps and buzzer", str(exc)))
    try:
        return run_selftest(config, steps, out=out, **options)
    finally:
        for device in opened:
            device.stop()
        if indicator is not None:
            indicator.close()


def snapshot(config: RatingTerminalConfig) -> dict[str, Any]:
    """`hall rating diagnostics`: a redacted snapshot, without connecting or opening the keypad."""
    agent = EdgeAgent(config)
    try:
        report = agent.diagnostics()
    finally:
        agent.outbox.close()
    keypad = config.keypad.model_dump(mode="json")
    report["rating"] = {
        "window": config.device.window,
        "keypad": keypad,
        "grades": {key: GRADE_LABELS[grade] for key, grade in config.rating.grades.items()},
        "reasons": [r.model_dump() for r in config.rating.reasons],
        "please_rate_key": config.rating.please_rate_key,
        "arm_window_s": config.rating.arm_window_s,
        "indicator": config.indicator.model_dump(mode="json"),
    }
    return report
