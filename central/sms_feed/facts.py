"""A fact as the feed hands it to the SMS platform, and what a log must offer to be followed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Fact:
    """One committed fact of a log, ready for `SmsPlatform.notify`; `body` None: nothing to tell
    (the number was erased, a complaint without a phone), the position moves on all the same."""

    position: int
    fact_id: str
    fact_type: str
    body: Mapping[str, Any] | None = field(repr=False)
    happened_ms: int
    due_day: str | None = None


@dataclass(frozen=True)
class Chunk:
    facts: list[Fact]
    upto: int
    """The log position read up to (facts of other kinds in between are passed over)."""


class FactSource(Protocol):
    name: str

    def head(self) -> int:
        """The log's last position now: where a feed that has never run starts."""
        ...

    def after(self, position: int, limit: int) -> Chunk:
        """The facts after `position` that may call for an SMS, at most `limit` of them."""
        ...
