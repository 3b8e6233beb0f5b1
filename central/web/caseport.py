"""What the API and the big screen need from the supervision records and the countdown engine.

The case engine (`central/cases/`) is adapted to this port in
`central/web/caseadapter.py`; tests may plug in anything that satisfies it.
Rows are plain dicts with the keys of `CaseOut`; the API masks their personal fields (masking a
value the engine already masked changes nothing).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from central.cases.store import CaseStore

OPEN_STAGES = ("blue", "yellow_light", "red_light", "yellow_card", "red_card", "supervision_letter",
               "suspended", "uncertain")
STAGES = (*OPEN_STAGES, "completed")


@dataclass(frozen=True)
class CaseFilter:
    hall: str | None = None
    unit: str | None = None
    matter: str | None = None
    officer: str | None = None
    stage: str | None = None
    """A light (blue ... supervision_letter) or a state (suspended, completed, uncertain)."""
    open_only: bool = False
    limit: int = 500
    offset: int = 0


@dataclass(frozen=True)
class Escalation:
    """A step the engine took at a tick: a card or letter issued, or a light that changed."""

    case_id: str
    stage: str
    hall: str
    unit: str
    at: int  # epoch seconds
    before: str | None = None


class CaseBoard(Protocol):
    def search(self, query: CaseFilter) -> list[dict[str, Any]]:
        """Cases matching the filter, most urgent first, with their stage now."""
        ...

    def count(self, query: CaseFilter) -> int: ...

    def history(self, case_id: str) -> dict[str, Any] | None:
        """{"case": row, "events": [...], "verified": bool, "problem": str | None}, or None."""
        ...

    def statistics(self, group_by: str | None, query: CaseFilter, since: int | None = None,
                   until: int | None = None) -> list[dict[str, Any]]:
        """Rows of {key, received, completed, on_time, on_time_rate, yellow_cards, red_cards,
        letters}, each figure counted at its own instant within [since, until) (epoch seconds);
        `group_by` a dimension (hall, unit, window, matter, officer) or a period (day, month, year)."""
        ...

    def tick(self, now_s: int) -> list[Escalation]:
        """Run the countdown up to `now_s`; the steps taken."""
        ...


class CaseIntake(Protocol):
    def alone(self) -> AbstractContextManager[CaseStore]:
        """The case store for one caller at a time (it shares a connection with the engine's tick)."""
        ...


class NoCases:
    """The board of a central without the case engine: empty, never failing."""

    def search(self, query: CaseFilter) -> list[dict[str, Any]]:
        return []

    def count(self, query: CaseFilter) -> int:
        return 0

    def history(self, case_id: str) -> dict[str, Any] | None:
        return None

    def statistics(self, group_by: str | None, query: CaseFilter, since: int | None = None,
                   until: int | None = None) -> list[dict[str, Any]]:
        return []

    def tick(self, now_s: int) -> list[Escalation]:
        return []
