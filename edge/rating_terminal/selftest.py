"""`hall rating selftest`: every key asked for and pressed, every lamp lit, then the gateway round trip.

The technician presses each key when asked (a key that never comes is a failed
step: a broken switch or a wrong pin in configuration), watches the lamps light,
and the result goes to the gateway as `device.selftest` (a pass makes the device
active). `snapshot` is `hall rating diagnostics`: the state without connecting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contract.events.rating import GRADE_LABELS
from edge.rating_terminal.config import RatingTerminalConfig
from edge.runtime.agent import EdgeAgent
from edge.runtime.hardware.factory import IndicatorUnavailable, build_indicator
from edge.runtime.hardware.indicator import Indicator
from edge.runtime.hardware.keys import Keypad
from edge.runtime.selftest import SelfTestReport, Step, failed_step, keypad_steps, run_selftest


def keys_to_test(config: RatingTerminalConfig) -> list[tuple[str, str]]:
    """(key name, what it means) for every key the terminal uses, grades first."""
    rules = config.rating
    keys = [(key, GRADE_LABELS[grade]) for key, grade in rules.grades.items()]
    keys.append((rules.please_rate_key, "请评价 (officer)"))
    seen = {key for key, _ in keys}
    keys.extend((r.key, f"reason {r.label}") for r in rules.reasons if r.key not in seen)
    return keys


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
    steps, opened = keypad_steps(config.keypad, keys_to_test(config), out=out, timeout_s=key_timeout_s,
                                 source=config.device.id, keypad=keypad)
    try:
        if indicator is None:
            indicator = build_indicator(config.indicator, source=config.device.id)
        steps.append(lamp_step(indicator))
    except IndicatorUnavailable as exc:
        steps.append(failed_step("lamps and buzzer", str(exc)))
    try:
        return run_selftest(config, steps, out=out, **options)
    finally:
        if opened is not None:
            opened.stop()
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
