"""The shape of an anomaly detector: the facts it reads, its settings, its state, and `judge`.

A rule of the table (`central.anomalies.table`) names a detector and gives its
settings; one detector may serve several rules (two thresholds, two risk
levels), so every state table is keyed by the rule's name. A detector is fed
each fact of its kinds once, in time order per source (in batches: `begin` with the
batch's facts, `judge` each, `end` before the batch commits), and answers with the
hits it completes; the book raises each hit once per (rule, key), so a detector
may answer the same hit again without harm.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from central.anomalies.facts import Fact, Hit
from central.anomalies.judging import Judging
from spine.statement import Tx


class Settings(BaseModel):
    """A detector's tunables, as a rule of the table gives them (unknown keys are errors)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


SettingsT = TypeVar("SettingsT", bound=Settings)


class Detector(Generic[SettingsT]):
    name: ClassVar[str]
    kinds: ClassVar[frozenset[str]]
    settings_model: ClassVar[type[Settings]] = Settings
    schema: ClassVar[str] = ""
    """Its state tables (CREATE ... IF NOT EXISTS), each keyed by `rule`."""

    def __init__(self, rule: str, settings: SettingsT) -> None:
        self.rule = rule
        self.settings = settings

    def begin(self, tx: Tx, facts: Sequence[Fact]) -> None:
        """Before a batch is judged: read the state its facts of this detector's kinds touch, in
        one statement (`central.anomalies.keyed`); `judge` then works on it in memory."""

    def judge(self, judging: Judging, fact: Fact) -> list[Hit]:
        raise NotImplementedError

    def end(self, tx: Tx) -> None:
        """After the batch was judged, inside its transaction: write the state that changed."""

    def forget(self) -> None:
        """The batch failed (its transaction rolls back): drop what `begin` read and `judge` changed."""

    def prune(self, tx: Tx, before_ms: int) -> None:
        """Forget state about what happened before `before_ms` that no hit can need any more."""


def person(actor: str | None) -> str:
    """The person in an author's name: an API token's user prefixes the officer (`approval-hr/李四`)."""
    return (actor or "").rsplit("/", 1)[-1]


def officer_of(body: object) -> str | None:
    """The officer a case entry names: its id when it has one, else its name."""
    if not isinstance(body, dict):
        return None
    found = body.get("officer_id") or body.get("officer_name")
    return str(found) if found else None
