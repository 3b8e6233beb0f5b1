"""The `[keypad]` and `[indicator]` configuration sections. Documented in docs/keypads.md.

`kind` selects the adapter or backend; each has its own keys, and unknown keys
are errors. Agents embed them as fields (`keypad: KeypadSettings`,
`indicator: IndicatorSettings`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from spine.config import Section

DEFAULT_RATING_KEYS = ["1", "2", "3", "4", "5"]


def _check_names(names: list[str]) -> None:
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ValueError(f"two inputs map to the same key name(s) {sorted(duplicates)}")


class DebounceSettings(Section):
    debounce_mode: Literal["lock", "settle"] = Field(
        "lock",
        description="lock: a change counts at its first edge, then edges for bounce_ms are bounces; "
        "settle: a press counts once the contact stayed closed for bounce_ms, a release at once",
    )
    bounce_ms: int = Field(30, ge=0, le=500, description="the lock or settle time of the debounce")
    hold_ms: int = Field(1500, ge=100, le=60_000, description="a key down this long is reported HELD")

    @model_validator(mode="after")
    def _hold_after_bounce(self) -> DebounceSettings:
        if self.hold_ms <= self.bounce_ms:
            raise ValueError("hold_ms must be longer than bounce_ms")
        return self


class SimulatedKeypadSettings(Section):
    """A keypad pressed by software (demo, tests). Must be chosen explicitly."""

    kind: Literal["simulated"]
    source: str = "sim"


class GpioKeypadSettings(DebounceSettings):
    """Push buttons on GPIO pins, through gpiozero."""

    kind: Literal["gpio"]
    keys: dict[str, int] = Field(
        default_factory=lambda: {"1": 5, "2": 6, "3": 13, "4": 19, "5": 26},
        description="logical key name -> BCM pin number",
    )
    pull_up: bool = Field(True, description="buttons switch the pin to ground (internal pull-up)")
    pin_factory: str | None = Field(
        None, description="gpiozero pin factory name (lgpio, rpigpio, mock); default: GPIOZERO_PIN_FACTORY"
    )

    @field_validator("keys")
    @classmethod
    def _distinct_pins(cls, keys: dict[str, int]) -> dict[str, int]:
        pins = list(keys.values())
        if len(set(pins)) != len(pins):
            raise ValueError("two keys share a pin")
        if not keys:
            raise ValueError("at least one key is needed")
        return keys


class ConsoleKeypadSettings(Section):
    """A USB numeric keypad or keyboard: evdev when `device` is set, else lines on stdin."""

    kind: Literal["console"]
    device: Path | None = Field(
        None, description="evdev input device, e.g. /dev/input/by-id/...-event-kbd; unset: stdin"
    )
    grab: bool = Field(True, description="evdev: take the keypad exclusively (keys do not reach a tty)")
    keys: dict[str, str] = Field(
        default_factory=lambda: {
            "1": "1", "2": "2", "3": "3", "4": "4", "5": "5",
            "KEY_KP1": "1", "KEY_KP2": "2", "KEY_KP3": "3", "KEY_KP4": "4", "KEY_KP5": "5",
        },
        description="stdin token or evdev key name (KEY_KP1...) -> logical key name",
    )


class ModbusRegisterMap(Section):
    """Where an RS-485 keypad keeps its keys. The default is documented in docs/keypads.md."""

    table: Literal["input", "holding"] = Field(
        "input", description="register table: input registers (FC 04) or holding registers (FC 03)"
    )
    mode: Literal["latch", "bitmap"] = Field(
        "latch",
        description="latch: a press counter and the last key code; bitmap: one bit per key, level",
    )
    counter: int = Field(0, ge=0, le=65535, description="latch: address of the press counter")
    key_code: int = Field(1, ge=0, le=65535, description="latch: address of the last key's code")
    state: int = Field(0, ge=0, le=65535, description="bitmap: address of the key-state bitmap")
    prompt: int | None = Field(
        None, ge=0, le=65534,
        description="holding register of the prompt code (the next one: its seconds), written with "
        "FC 16 when the prompt changes; unset: no prompts (never write registers a keypad may use "
        "for something else)",
    )


class SerialLineSettings(Section):
    """A serial line: a device or a pyserial URL, and how the bytes are framed on it."""

    port: str = Field(description="serial device (/dev/ttyUSB0) or a pyserial URL")
    baudrate: int = Field(9600, ge=1200, le=921_600)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1


class ModbusKeypadSettings(DebounceSettings, SerialLineSettings):
    """An RS-485 keypad polled over Modbus RTU (pymodbus, pyserial)."""

    kind: Literal["modbus"]
    bytesize: Literal[7, 8] = 8
    device_id: int = Field(1, ge=1, le=247, description="the keypad's Modbus address")
    timeout_s: float = Field(0.3, gt=0, le=10)
    retries: int = Field(2, ge=0, le=10, description="pymodbus resends per request before failing")
    poll_ms: int = Field(50, ge=10, le=5000)
    fault_after: int = Field(3, ge=1, le=100, description="failed polls in a row that make a fault")
    registers: ModbusRegisterMap = Field(default_factory=lambda: ModbusRegisterMap.model_validate({}))
    keys: dict[int, str] = Field(
        default_factory=lambda: {1: "1", 2: "2", 3: "3", 4: "4", 5: "5"},
        description="latch: key code -> key name; bitmap: bit number (0-15) -> key name",
    )

    @model_validator(mode="after")
    def _check_keys(self) -> ModbusKeypadSettings:
        _check_names(list(self.keys.values()))
        if self.registers.mode == "bitmap" and any(not 0 <= bit <= 15 for bit in self.keys):
            raise ValueError("bitmap keys are bit numbers 0-15")
        if self.registers.mode == "latch" and 0 in self.keys:
            raise ValueError("key code 0 means 'no key' in latch mode")
        return self


class FramedSerialKeypadSettings(SerialLineSettings):
    """A window evaluator/caller speaking `FF 68 LEN LEN 68 ADDR FUNC DATA CS 16` on a serial line."""

    kind: Literal["framed_serial"]
    address: int | None = Field(
        None, ge=0, le=255, description="only frames from this ADDR are ours; unset: any address"
    )
    key_function: int = Field(0x01, ge=0, le=255, description="FUNC of a key-press frame")
    keys: dict[int, str] = Field(
        default_factory=lambda: {1: "1", 2: "2", 3: "3", 4: "4", 5: "5"},
        description="key code (DATA[0] of a key frame) -> key name",
    )
    repeat_window_ms: int = Field(
        300, ge=0, le=5000,
        description="the same key frame again this soon is a retransmission (our echo was lost)",
    )
    reopen_s: float = Field(2.0, gt=0, le=60, description="how often to retry a lost serial port")
    prompt_function: int | None = Field(
        0x02, ge=0, le=255,
        description="FUNC of a prompt frame to the device (DATA = prompt code, seconds); unset: none sent",
    )
    prompt_echo_ms: int = Field(
        200, ge=20, le=5000, description="a prompt not echoed this soon is sent again"
    )
    prompt_retries: int = Field(2, ge=0, le=10, description="times a prompt is sent again without an echo")

    @model_validator(mode="after")
    def _check_keys(self) -> FramedSerialKeypadSettings:
        _check_names(list(self.keys.values()))
        if self.prompt_function is not None and self.prompt_function == self.key_function:
            raise ValueError("prompt_function must differ from key_function")
        return self


KeypadSettings = Annotated[
    SimulatedKeypadSettings
    | GpioKeypadSettings
    | ConsoleKeypadSettings
    | ModbusKeypadSettings
    | FramedSerialKeypadSettings,
    Field(discriminator="kind"),
]
"""One of the adapters' settings, chosen by `kind`."""


class ConsoleIndicatorSettings(Section):
    """No lamps: messages on the console, lamp changes in the log."""

    kind: Literal["console"]


class SimulatedIndicatorSettings(Section):
    """Lamps a test or the demo inspects (`SimulatedIndicator`). Must be chosen explicitly."""

    kind: Literal["simulated"]
    lamps: list[str] = Field(default_factory=list, description="the lamp names the self-test lights")


class GpioIndicatorSettings(Section):
    """LEDs and an active buzzer on GPIO pins, through gpiozero."""

    kind: Literal["gpio"]
    lamps: dict[str, int] = Field(default_factory=dict, description="lamp name -> BCM pin of its LED")
    buzzer: int | None = Field(None, ge=0, le=40, description="BCM pin of an active buzzer")
    pin_factory: str | None = Field(
        None, description="gpiozero pin factory name, as for the GPIO keypad; default: GPIOZERO_PIN_FACTORY"
    )
    blink_s: float = Field(0.5, gt=0, le=5, description="on and off time of a blinking lamp")
    beep_s: float = Field(0.1, gt=0, le=5, description="length of one beep, and of the pause between two")

    @model_validator(mode="after")
    def _distinct_pins(self) -> GpioIndicatorSettings:
        pins = [*self.lamps.values(), *([self.buzzer] if self.buzzer is not None else [])]
        if len(set(pins)) != len(pins):
            raise ValueError("two lamps (or a lamp and the buzzer) share a pin")
        if any(not 0 <= pin <= 40 for pin in pins):
            raise ValueError("BCM pins are 0-40")
        return self


IndicatorSettings = Annotated[
    ConsoleIndicatorSettings | SimulatedIndicatorSettings | GpioIndicatorSettings,
    Field(discriminator="kind"),
]
"""One of the indicator backends' settings, chosen by `kind`."""


def console_indicator() -> ConsoleIndicatorSettings:
    """The default `[indicator]` of every agent: no lamps."""
    return ConsoleIndicatorSettings(kind="console")


def check_lamp_names(settings: IndicatorSettings, known: tuple[str, ...]) -> None:
    """A lamp name the agent never lights is a typo in configuration: refuse it, naming the right ones."""
    names = list(settings.lamps) if not isinstance(settings, ConsoleIndicatorSettings) else []
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"indicator.lamps: unknown lamp(s) {unknown}; this agent has {list(known)}")
