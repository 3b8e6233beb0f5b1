"""What the anomaly rules read and what they raise: a `Fact` in, `Hit`s out.

A fact is one record of central's history, wherever it is kept: a case log
record (`case:<seq>`), a hall's event (`event:<id>`), a complaint step
(`complaint:<seq>`). Every fact carries its instant (ms) and its source, the
stream whose completeness decides when it may be judged (`central.cases.sources`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Fact:
    kind: str
    """The event type: `case.accepted`, `rating.recorded`, `complaint.visit_linked`..."""
    at: int
    """When it happened, ms since the epoch."""
    source: str
    """Whose stream it came in: '' (stated as it happened), `hall:<hall>`, `api:<client>`."""
    ref: str
    """Where it is kept: `case:<seq>`, `event:<id>`, `complaint:<seq>`."""
    body: Mapping[str, Any]
    hall: str | None = None
    unit: str | None = None
    case_id: str | None = None
    seq: int | None = None
    """The case log's seq, for a case fact."""
    actor: str | None = None
    """Who stated it, as its log records it."""

    def to_json(self) -> str:
        return _JSON.encode(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Fact:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class Hit:
    """What a rule found: one anomaly, identified within its rule by `key` (raised once)."""

    key: str
    at: int
    """When the anomaly happened (ms): the instant of the fact that completed it."""
    summary: str
    """Plain words, no personal data: what happened, where, who (an officer, a window, a device)."""
    hall: str | None = None
    unit: str | None = None
    case_id: str | None = None
    subject: str | None = None
    """The officer, window or device it is about."""
    refs: tuple[str, ...] = ()
    """The facts it rests on."""
    details: Mapping[str, Any] = field(default_factory=dict)
