"""What an evaluator with its own screen or LEDs is told to show: host-to-device prompts.

A rating terminal's lamps are ours (`Indicator`); many vendors' evaluators also
have a screen or LEDs of their own, which only the device can drive. The host
tells the keypad adapter which prompt is current, with how many seconds it
lasts, and the adapter sends it in the device's protocol (docs/keypads.md,
"Prompts to the device"): a frame on the framed serial protocol, two holding
registers on Modbus. The codes below are the wire values; a device shows its
own text or LEDs for each.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol, runtime_checkable


class Prompt(IntEnum):
    """The prompt codes sent to an evaluator."""

    IDLE = 0  # nothing asked: a welcome screen, all key LEDs off
    PLEASE_RATE = 1  # 请评价: the grade keys count now
    REASONS = 2  # 请选择原因: the reason menu after a bad grade
    THANKS = 3  # 谢谢评价
    OUT_OF_ORDER = 4  # 暂停使用: the terminal takes no ratings (stopped, cannot record)


@dataclass(frozen=True)
class Showing:
    """A prompt and how long it lasts (0: until the next prompt), in whole seconds up to 255."""

    prompt: Prompt
    seconds: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "seconds", max(0, min(255, int(self.seconds))))


@runtime_checkable
class PromptingKeypad(Protocol):
    """A keypad whose device can show prompts. `show` never blocks on the device: the adapter
    sends from its own thread, again after the device was unreachable or restarted."""

    def show(self, showing: Showing) -> None: ...
