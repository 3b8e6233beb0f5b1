"""The kiosk's configuration (TOML): services, numbering, printer, inputs.

Every key is documented in docs/kiosk.md. Validation lists every wrong key at
once (`spine.config.load_config`).
"""

from __future__ import annotations

import re
from datetime import time
from enum import StrEnum
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from edge.runtime.agent import AgentConfig, trial_sections
from edge.runtime.hardware.settings import (
    GpioKeypadSettings,
    IndicatorSettings,
    KeypadSettings,
    check_lamp_names,
    console_indicator,
)
from spine.config import Section

_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$")


def parse_spans(spans: list[str]) -> list[tuple[time, time]]:
    """'08:30-12:00' -> (08:30, 12:00); '24:00' means the end of the day."""
    parsed = []
    for span in spans:
        match = _SPAN.match(span)
        if match is None:
            raise ValueError(f"{span!r} is not an opening span like '08:30-12:00'")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start = time(h1, m1)
        end = time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)
        if end <= start:
            raise ValueError(f"{span!r} ends before it starts")
        parsed.append((start, end))
    return parsed


class HallSettings(Section):
    """The hall as printed on tickets, and when it is open."""

    name: str = Field("政务服务中心", min_length=1, max_length=40, description="printed on every ticket")
    timezone: str = Field("Asia/Shanghai", description="the hall's local time: days and hours")
    hours: list[str] = Field(
        default_factory=lambda: ["00:00-24:00"],
        description="opening spans, e.g. ['08:30-12:00', '14:00-17:30']",
    )
    open_days: list[int] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5, 6, 7], description="ISO weekdays (1 = Monday)"
    )

    @field_validator("hours")
    @classmethod
    def _spans(cls, value: list[str]) -> list[str]:
        parse_spans(value)
        return value

    @field_validator("open_days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if any(day < 1 or day > 7 for day in value):
            raise ValueError("ISO weekdays are 1 (Monday) to 7 (Sunday)")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (install tzdata?)") from exc
        return value


class NumberingSettings(Section):
    """This kiosk's share of the hall's number space (see docs/kiosk.md, 'Numbering')."""

    slot: int = Field(1, ge=1, le=9, description="this kiosk's slot, 1..slots; unique in the hall")
    slots: int = Field(1, ge=1, le=9, description="how many kiosk slots the hall's numbering has")
    width: int = Field(3, ge=2, le=5, description="digits printed after the prefix (zero-padded)")

    @model_validator(mode="after")
    def _slot_in_range(self) -> NumberingSettings:
        if self.slot > self.slots:
            raise ValueError(f"slot {self.slot} is beyond slots = {self.slots}")
        return self


class ServiceSettings(Section):
    """One service the kiosk offers."""

    prefix: str = Field(pattern=r"^[A-Z]{1,2}$", description="letters before the number, e.g. 'A'")
    name: str = Field(min_length=1, max_length=40, description="Chinese name printed on the ticket")
    windows: list[str] = Field(default_factory=list, description="the windows that serve it")
    daily_limit: int = Field(300, ge=1, le=99999, description="tickets per day, hall-wide")
    priority: bool = Field(False, description="green channel: called before ordinary tickets")
    key: str | None = Field(None, pattern=r"^\d{1,2}$", description="keypad digit(s) choosing it")
    button_pin: int | None = Field(None, ge=0, le=40, description="GPIO (BCM) of its button")
    hours: list[str] | None = Field(None, description="opening spans overriding the hall's")

    @field_validator("hours")
    @classmethod
    def _spans(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            parse_spans(value)
        return value


class PrinterKind(StrEnum):
    NETWORK = "network"
    USB = "usb"
    SERIAL = "serial"
    FILE = "file"


class PrinterSettings(Section):
    """The ticket printer: how to reach it, how long to wait, how to lay out the ticket."""

    kind: PrinterKind = PrinterKind.NETWORK
    host: str = Field("127.0.0.1", description="network: the printer's address")
    port: int = Field(9100, ge=1, le=65535, description="network: raw port")
    usb_vendor: int | None = Field(None, description="usb: idVendor, e.g. 0x0416")
    usb_product: int | None = Field(None, description="usb: idProduct")
    usb_in_ep: int = Field(0x82, description="usb: bulk IN endpoint (status replies)")
    usb_out_ep: int = Field(0x01, description="usb: bulk OUT endpoint")
    serial_device: str = Field("/dev/ttyUSB0", description="serial: device path")
    baudrate: int = Field(9600, description="serial: speed")
    file_path: Path = Field(Path("/dev/usb/lp0"), description="file: a device node or a plain file")
    io_timeout_ms: int = Field(800, ge=50, le=10_000, description="connect and write timeout")
    status_timeout_ms: int = Field(
        250, ge=20, le=5000,
        description="wait for the four DLE EOT replies of a health check; silence means offline",
    )
    confirm_timeout_ms: int = Field(
        3000, ge=50, le=30_000,
        description="wait for the status reply after a ticket's cut, which confirms it printed; "
        "a printer whose buffer is smaller than a ticket answers only once it took the last bytes",
    )
    status_query: bool = Field(
        True, description="ask the printer its health (DLE EOT); off for write-only backends"
    )
    poll_s: float = Field(2.0, gt=0, le=300, description="health poll between tickets")
    columns: int = Field(32, ge=16, le=64, description="characters per line (58 mm: 32, 80 mm: 48)")
    dots: int = Field(384, ge=128, le=832, description="printable width in dots (58 mm: 384, 80 mm: 576)")
    qr_native: bool = Field(True, description="GS ( k QR; off renders the QR as an image")
    qr_size: int = Field(6, ge=1, le=16)
    chinese_mode: bool = Field(True, description="send FS & so the printer reads two-byte GBK text")
    text_as_image: bool = Field(
        False, description="render every Chinese line as an image (printers without a Chinese font)"
    )
    font_path: Path | None = Field(None, description="a TrueType/OpenType font with Han glyphs")

    @model_validator(mode="after")
    def _usb_ids(self) -> PrinterSettings:
        if self.kind is PrinterKind.USB and (self.usb_vendor is None or self.usb_product is None):
            raise ValueError("a usb printer needs usb_vendor and usb_product")
        return self


class EntrySettings(Section):
    """Typing on the kiosk keypad: service digits and appointment codes."""

    code_length: int = Field(6, ge=4, le=12, description="digits of an appointment code")
    timeout_s: float = Field(20.0, gt=0, description="a half-typed entry is forgotten after this")


class ButtonSettings(Section):
    """The GPIO service buttons: a settle debounce (docs/keypads.md) and the double-tap guard."""

    settle_ms: int = Field(30, ge=0, le=500, description="a press counts once held this long")
    repeat_guard_ms: int = Field(
        1500, ge=0, le=30_000, description="a second press of any button within this gives no ticket"
    )
    pull_up: bool = Field(True, description="buttons connect the pin to ground")
    pin_factory: str | None = Field(
        None, description="gpiozero pin factory name, e.g. 'lgpio'; default: GPIOZERO_PIN_FACTORY, else lgpio"
    )


LAMPS = ("ready", "fault")
"""The kiosk's lamps: `ready` while tickets can be printed, `fault` (blinking) while they cannot."""


class KioskConfig(AgentConfig):
    """A queue kiosk: identity and link (AgentConfig) plus the hall's services and its hardware."""

    # A one-machine trial: two services at window 1; the ESC/POS bytes go to a file; the
    # terminal is the keypad (type `1`, then `#` or `enter`, for a ticket of service A).
    trial_defaults = {
        **trial_sections("kiosk-1", "kiosk"),
        "services": [{"prefix": "A", "name": "综合业务", "windows": ["1"], "key": "1"},
                     {"prefix": "B", "name": "社保医保", "windows": ["1"], "key": "2"}],
        "printer": {"kind": "file", "file_path": "var/kiosk-1/printer.bin", "status_query": False},
        "keypad": {"kind": "console", "keys": {**{str(d): str(d) for d in range(10)},
                                               "#": "enter", "enter": "enter", "*": "clear"}},
    }

    hall: HallSettings = HallSettings()
    numbering: NumberingSettings = NumberingSettings()
    services: list[ServiceSettings] = Field(min_length=1)
    printer: PrinterSettings = PrinterSettings()
    keypad: KeypadSettings | None = Field(None, description="the shared keypad section (docs/keypads.md)")
    entry: EntrySettings = EntrySettings()
    buttons: ButtonSettings = ButtonSettings()
    indicator: IndicatorSettings = Field(
        default_factory=console_indicator,
        description="lamps ready and fault, and a buzzer (docs/keypads.md); default: console lines",
    )

    @model_validator(mode="after")
    def _unique(self) -> KioskConfig:
        for what, values in (
            ("prefix", [s.prefix for s in self.services]),
            ("key", [s.key for s in self.services if s.key is not None]),
            ("button_pin", [str(s.button_pin) for s in self.services if s.button_pin is not None]),
        ):
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(f"services share a {what}: {', '.join(dupes)}")
        check_lamp_names(self.indicator, LAMPS)
        return self

    def button_keypad(self) -> GpioKeypadSettings | None:
        """The service buttons as one GPIO keypad whose keys are the services' prefixes."""
        pins = {s.prefix: s.button_pin for s in self.services if s.button_pin is not None}
        if not pins:
            return None
        return GpioKeypadSettings(
            kind="gpio", keys=pins, pull_up=self.buttons.pull_up, debounce_mode="settle",
            bounce_ms=self.buttons.settle_ms, pin_factory=self.buttons.pin_factory,
        )

    @property
    def store_path(self) -> Path:
        return self.data_dir / "kiosk.sqlite"
