"""Online appointments: central sends each hall its day's bookings; kiosks redeem them by code.

The command central publishes on `central/<hall>/cmd` (see `appointments_command`):
`{"command": "queue.appointments", "day": "YYYY-MM-DD", "appointments": [{"code", "service",
"officer", "window", "not_before", "not_after"}]}`. It replaces that day's list;
codes already redeemed stay redeemed. No personal data travels with it: the
citizen is known to the booking system, the hall needs only the code.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from contract.events.queue import DAY, PREFIX
from contract.registry import Body
from contract.topics import gateway_link

COMMAND = "queue.appointments"


class Booking(Body):
    code: str = Field(pattern=r"^\d{4,12}$")
    service: str = Field(pattern=PREFIX)
    officer: str | None = None
    window: str | None = None
    not_before: int | None = Field(None, description="earliest redemption, ms since the epoch")
    not_after: int | None = Field(None, description="latest redemption, ms since the epoch")


class AppointmentsCommand(Body):
    command: str = Field(COMMAND, pattern=r"^queue\.appointments$")
    day: str = Field(pattern=DAY)
    appointments: list[Booking]


def appointments_command(day: str, bookings: list[dict[str, Any]]) -> str:
    """The payload central publishes on `central_topic(hall)`: one hall's bookings of one day."""
    command = AppointmentsCommand(day=day, appointments=[Booking.model_validate(b) for b in bookings])
    return command.model_dump_json()


def central_topic(hall: str) -> str:
    """Where central publishes commands for `hall`'s gateway."""
    return gateway_link(hall).commands


def kiosk_message(day: str, items: list[dict[str, Any]]) -> str:
    return json.dumps({"command": COMMAND, "day": day, "appointments": items},
                      ensure_ascii=False, separators=(",", ":"))
