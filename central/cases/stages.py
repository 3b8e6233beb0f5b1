"""The words of the countdown: stages, limit units, and a case's time limit."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Stage(StrEnum):
    """A case's light, by its machine-readable name."""

    BLUE = "blue"
    YELLOW_LIGHT = "yellow_light"
    RED_LIGHT = "red_light"
    YELLOW_CARD = "yellow_card"
    RED_CARD = "red_card"
    SUPERVISION_LETTER = "supervision_letter"
    SUSPENDED = "suspended"
    COMPLETED = "completed"
    UNCERTAIN = "uncertain"


LADDER = (
    Stage.YELLOW_LIGHT,
    Stage.RED_LIGHT,
    Stage.YELLOW_CARD,
    Stage.RED_CARD,
    Stage.SUPERVISION_LETTER,
)
"""The stages a running case climbs through after blue, in order."""


class LimitUnit(StrEnum):
    WORKDAYS = "workdays"
    DAYS = "days"
    MONTHS = "months"


@dataclass(frozen=True)
class Limit:
    """A statutory or committed time limit: 20 working days, 30 calendar days, 2 months."""

    amount: int
    unit: LimitUnit = LimitUnit.WORKDAYS

    def __post_init__(self) -> None:
        if self.amount < 1:
            raise ValueError("a time limit is at least 1")

    def __str__(self) -> str:
        return f"{self.amount} {self.unit.value}"
