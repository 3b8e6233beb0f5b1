"""Each hall's one list of a day's appointment codes (`queue.appointments`), from every source.

Online bookings (`central.booking`) and the green channel's passes for major
projects (`central.projects`) both give applicants codes a hall's kiosks take.
The hall's gateway keeps ONE list per day, and each command replaces it, so
central must send the union of every source each time, never one source's
codes alone (they would wipe the other's). A source says which codes a hall's
day holds and which days it has codes from a given day on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from contract.commands.queue import Booking, QueueAppointments

log = logging.getLogger(__name__)

SendCommand = Callable[[str, dict[str, Any]], None]
"""(hall, command) -> published on `central/<hall>/cmd` (`CentralIngest.send_command`)."""


class CodeSource(Protocol):
    """Where appointment codes come from: bookings, green-channel passes."""

    def day_codes(self, hall: str, day: str) -> list[Booking]: ...

    def days_from(self, hall: str, day: str) -> list[str]: ...


class HallAppointments:
    """Sends each hall's day list: after any source changes it, and every list from today on
    when the hall's gateway comes online (a command sent while it had no session is lost;
    sending a list again is harmless: the gateway keeps which codes were redeemed)."""

    def __init__(self, send: SendCommand) -> None:
        self.send = send
        self.sources: list[CodeSource] = []

    def add(self, source: CodeSource) -> None:
        self.sources.append(source)

    def send_day(self, hall: str, day: str) -> None:
        codes = [code for source in self.sources for code in source.day_codes(hall, day)]
        command = QueueAppointments(day=day, appointments=codes)
        # What the gateway adds for its kiosks (which ticket a code became) is not central's to say.
        self.send(hall, command.model_dump(mode="json",
                                           exclude={"appointments": {"__all__": {"redeemed_ticket"}}}))
        log.info("hall %s: %d appointment code(s) of %s sent", hall, len(codes), day)

    def send_all(self, hall: str, today: str) -> int:
        """Every list of the hall from today on; how many were sent."""
        days = sorted({day for source in self.sources for day in source.days_from(hall, today)})
        for day in days:
            self.send_day(hall, day)
        return len(days)
