"""`hall caller selftest`: the window caller's own checks, then the broker login and the gateway round trip.

A caller becomes active at the gateway like every device: by a passing
`device.selftest` (the shared runner, `edge.runtime.selftest`). Its own checks:
the window it serves and its transfer keys, and the officer's keypad opened;
with `ask_keys`, the technician presses every key the keypad maps, one at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edge.runtime.hardware.keys import Keypad
from edge.runtime.selftest import SelfTestReport, Step, StepFailed, StepWarning, keypad_steps, run_selftest
from edge.window_caller.config import CallerConfig


def keys_to_test(config: CallerConfig) -> list[tuple[str, str]]:
    """(key name, what it does) for every key the caller's keypad maps, in configuration order."""
    keypad = config.keypad
    names = list(dict.fromkeys(getattr(keypad, "keys", {}).values())) if keypad is not None else []
    return [(name, "digit" if name.isdigit() else name.replace("_", " ")) for name in names]


def _window(config: CallerConfig) -> Step:
    def check() -> str:
        try:
            window = config.window
        except ValueError as exc:
            raise StepFailed(str(exc)) from exc
        keys = config.caller.transfer_keys
        transfers = ", ".join(f"{typed} -> {service}" for typed, service in keys.items())
        return f"window {window}; transfer keys: {transfers or 'none'}"

    return Step("window", check)


def _no_keypad() -> Step:
    def check() -> str:
        raise StepWarning("no [keypad] section: the officer's keys cannot reach this caller "
                          "(docs/keypads.md)")

    return Step("keypad", check)


def selftest(
    config: CallerConfig,
    *,
    out: Callable[[str], None] = print,
    ask_keys: bool = False,
    keypad: Keypad | None = None,
    key_timeout_s: float = 20.0,
    offline: bool = False,
    **options: Any,
) -> SelfTestReport:
    """Run the caller's self-test (with its service stopped: both would use the device's id).
    `keypad` stands in for the configured one (tests)."""
    steps = [_window(config)]
    opened: Keypad | None = None
    if config.keypad is None:
        steps.append(_no_keypad())
    else:
        keys = keys_to_test(config) if ask_keys else []
        keypad_part, opened = keypad_steps(config.keypad, keys, out=out, timeout_s=key_timeout_s,
                                           source=config.device.id, keypad=keypad)
        steps.extend(keypad_part)
    try:
        return run_selftest(config, steps, out=out, offline=offline, **options)
    finally:
        if opened is not None:
            opened.stop()
