"""What a kiosk knows of its hall's queue: the gateway's last board plus its own tickets since. Pure.

The gateway pushes a board after every change: per service, how many are
waiting (priority ones apart), how many were issued today, and the highest
number it has seen from each kiosk slot. A kiosk adds what the gateway has not
seen yet (its own newer tickets), so its count of people ahead and of tickets
issued stays right while the link is down, and is called an estimate when
the board is old.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from contract.commands.queue import QueueBoard


@dataclass(frozen=True)
class ServiceBoard:
    waiting: int = 0
    waiting_priority: int = 0
    issued: int = 0
    high: Mapping[int, int] = field(default_factory=dict)
    """Highest number seen by the gateway, by kiosk slot."""


@dataclass(frozen=True)
class HallBoard:
    day: str | None = None
    at_ms: int | None = None
    """Kiosk wall clock when the board arrived."""
    services: Mapping[str, ServiceBoard] = field(default_factory=dict)

    @classmethod
    def from_message(cls, message: QueueBoard, received_ms: int) -> HallBoard:
        services = {
            prefix: ServiceBoard(
                waiting=line.waiting, waiting_priority=line.waiting_priority, issued=line.issued,
                high={int(slot): high for slot, high in line.high.items()},
            )
            for prefix, line in message.services.items()
        }
        return cls(day=message.day, at_ms=received_ms, services=services)

    def service(self, day: str, prefix: str) -> ServiceBoard:
        if self.day != day:
            return ServiceBoard()
        return self.services.get(prefix, ServiceBoard())

    def is_fresh(self, now_ms: int, max_age_ms: int) -> bool:
        return self.at_ms is not None and 0 <= now_ms - self.at_ms <= max_age_ms


def unseen(own_numbers: list[tuple[int, bool]], seen_high: int) -> int:
    """Own live tickets the gateway has not seen yet (numbers above its high mark for our slot)."""
    return sum(1 for number, voided in own_numbers if number > seen_high and not voided)


def people_ahead(board: ServiceBoard, own_unseen: int, priority: bool) -> int:
    """Citizens in front of a new ticket: green-channel ones jump the ordinary queue."""
    if priority:
        return board.waiting_priority
    return board.waiting + own_unseen


def issued_today(board: ServiceBoard, own_numbers: list[tuple[int, bool]], slot: int) -> int:
    """Hall-wide tickets of the service today, as far as this kiosk can know."""
    return board.issued + unseen(own_numbers, board.high.get(slot, 0))
