"""A queue ticket and its ESC/POS layout, built with python-escpos into bytes before printing.

Building the whole ticket in memory first (python-escpos's `Dummy`) means the
printer gets it in one write, and a ticket either leaves the kiosk whole or
the write fails as a whole.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from escpos.capabilities import get_profile
from escpos.printer import Dummy

from edge.queue_kiosk.config import PrinterSettings
from edge.queue_kiosk.lettering import Letterer, gbk_bytes

INIT = b"\x1b@"
CHINESE_MODE = b"\x1c&"  # FS &: read the following text as two-byte GBK


@dataclass(frozen=True)
class Ticket:
    """Everything printed on one ticket."""

    hall_name: str
    service_name: str
    label: str
    """Prefix and number as called out: 'A007'."""
    people_ahead: int
    ahead_is_estimate: bool
    """True when the kiosk has not heard from the gateway lately: printed as 'about'."""
    issued_text: str
    qr_payload: str
    priority: bool = False
    appointment: str | None = None


def qr_payload(hall: str, day: str, label: str, kiosk: str) -> str:
    """What the QR code says: enough to find the visit (hall, day, number) and who issued it."""
    return f"HW1|{hall}|{day.replace('-', '')}|{label}|{kiosk}"


def parse_qr(payload: str) -> dict[str, str]:
    version, hall, day, label, kiosk = payload.split("|")
    if version != "HW1":
        raise ValueError(f"unknown ticket QR version {version!r}")
    return {"hall": hall, "day": f"{day[:4]}-{day[4:6]}-{day[6:]}", "ticket": label, "kiosk": kiosk}


class TicketLayout:
    """Turns a Ticket into the bytes for this kiosk's printer."""

    def __init__(self, settings: PrinterSettings, letterer: Letterer) -> None:
        self.settings = settings
        self.letterer = letterer
        # The default profile has no paper width, and python-escpos then print()s a warning
        # on stdout for every image: give this kiosk's profile its own copy with the width.
        profile = get_profile()
        profile.profile_data = copy.deepcopy(profile.profile_data)
        profile.profile_data["media"]["width"]["pixels"] = settings.dots
        self.profile = profile

    def render(self, ticket: Ticket) -> bytes:
        p = Dummy()
        p.profile = self.profile
        p._raw(INIT)
        if self.settings.chinese_mode:
            p._raw(CHINESE_MODE)
        p.set(align="center", bold=True)
        self._line(p, ticket.hall_name)
        p.set(align="center", bold=False, double_height=True, double_width=True)
        self._line(p, ticket.service_name, scale=2)
        if ticket.priority:
            self._line(p, "预约" if ticket.appointment else "绿色通道")
        p.set(align="center", bold=True, custom_size=True, width=4, height=4)
        self._line(p, ticket.label)
        p.set(align="center", normal_textsize=True, bold=False)
        about = "约" if ticket.ahead_is_estimate else ""
        self._line(p, f"前面{about}有 {ticket.people_ahead} 人等候")
        if ticket.appointment:
            self._line(p, f"预约号 {ticket.appointment}")
        self._line(p, ticket.issued_text)
        if self.settings.qr_native:
            p.qr(ticket.qr_payload, size=self.settings.qr_size, native=True)
        else:
            p.qr(ticket.qr_payload, size=self.settings.qr_size, native=False, center=True)
        self._line(p, "请留意叫号 过号请向窗口说明")
        p.cut()
        return bytes(p.output)

    def _line(self, p: Dummy, text: str, scale: int = 1) -> None:
        data = None if self.settings.text_as_image else gbk_bytes(text)
        if data is not None:
            p._raw(data + b"\n")
        else:
            p.image(self.letterer.render(text, scale=scale), center=False)
