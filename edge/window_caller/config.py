"""The window caller's configuration (TOML): which window, the officer's keypad, transfer keys.

Every key is documented in docs/kiosk.md ("Window callers"). Validation lists
every wrong key at once (`spine.config.load_config`).
"""

from __future__ import annotations

from pydantic import Field

from edge.runtime.agent import AgentConfig, trial_sections
from edge.runtime.hardware.settings import KeypadSettings
from spine.config import Section


class CallerSettings(Section):
    """The window caller: which window, and how the officer's keys reach services."""

    window: str | None = Field(None, description="the window; defaults to device.window")
    reply_timeout_s: float = Field(3.0, gt=0, description="say 'gateway unreachable' after this")
    transfer_keys: dict[str, str] = Field(
        default_factory=dict,
        description="digits typed before Transfer -> service prefix, e.g. {'1' = 'A', '2' = 'B'}",
    )


class CallerConfig(AgentConfig):
    """A window caller: the officer's keypad at one window."""

    # A one-machine trial: window 1; the terminal is the officer's keypad (type `101 login`,
    # then `call_next`, `complete`, ...: every key by its name).
    trial_defaults = {
        **trial_sections("caller-1", "caller", window="1"),
        "keypad": {"kind": "console", "keys": {key: key for key in (
            *(str(d) for d in range(10)), "login", "logout", "call_next", "recall", "no_show",
            "park", "call_back", "transfer", "pause", "complete", "enter", "clear")}},
    }

    caller: CallerSettings = CallerSettings()
    keypad: KeypadSettings | None = Field(None, description="the officer's keys (docs/keypads.md)")

    @property
    def window(self) -> str:
        window = self.caller.window or self.device.window
        if not window:
            raise ValueError("a window caller needs device.window or caller.window")
        return window
