"""The places central keeps sealed personal data in, each with its own file and its own keys.

`CasePlace`: the case store (`cases.sqlite`: the case log and its projection).
`CentralPlace`: central's event store (`events.sqlite`: the event log, complaints,
rating follow-ups, queue contacts). A subject may have a key in both (a case
whose facts came from a hall's events): an erasure goes to every place.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Protocol

from central.cases.store import CaseStore
from central.personal import case_subject, complaint_subject, followup_subject, vault
from central.personal.retention import Retention
from central.store import CentralStore
from contract.privacy import PersonalKind


class PersonalPlace(Protocol):
    name: str

    def holding(self, phone: str) -> set[str]:
        """The subjects whose sealed data here holds this number (any form)."""
        ...

    def due(self, rule: Retention) -> dict[str, str]:
        """Subjects whose records closed before the rule's cut-off and still have a key: why."""
        ...

    def erase(self, subjects: Iterable[str], *, actor: str, reason: str, now_ms: int) -> list[str]:
        """Delete the keys of those subjects kept here; returns the subjects erased."""
        ...


class CasePlace:
    """The case store, taken alone for each step (its connection is the engine's too)."""

    name = "cases"

    def __init__(self, alone: Callable[[], AbstractContextManager[CaseStore]]) -> None:
        self.alone = alone

    def holding(self, phone: str) -> set[str]:
        with self.alone() as store:
            return {case_subject(case_id) for case_id in store.personal.cases_holding(phone)}

    def due(self, rule: Retention) -> dict[str, str]:
        with self.alone() as store:
            # The store's clock is in seconds; a closed case is one whose completion is confirmed.
            closed = store.personal.read(
                "SELECT case_id FROM cases WHERE confirmed_at IS NOT NULL AND confirmed_at < ?",
                (rule.closed_before_ms // 1000,))
            subjects = [case_subject(row[0]) for row in closed]
            kept = vault.kept_subjects(store.personal.read, subjects)
            legacy = {case_subject(row[0]) for row in store.personal.read(
                "SELECT DISTINCT e.case_id FROM case_personal p JOIN case_events e ON e.seq = p.seq "
                "JOIN cases c ON c.case_id = e.case_id WHERE c.confirmed_at < ?",
                (rule.closed_before_ms // 1000,))}
        return {subject: rule.reason("case") for subject in subjects if subject in kept | legacy}

    def erase(self, subjects: Iterable[str], *, actor: str, reason: str, now_ms: int) -> list[str]:
        case_ids = [s.removeprefix("case:") for s in subjects if s.startswith("case:")]
        if not case_ids:
            return []
        with self.alone() as store:
            with store.writing():
                erased = store.personal.erase(case_ids, actor=actor, reason=reason, now_ms=now_ms)
            vault.forget_old_frames(store.connection)
        return erased


class CentralPlace:
    """Central's event store: the event log, complaints, rating follow-ups and queue contacts."""

    name = "events"

    def __init__(self, store: CentralStore) -> None:
        self.store = store

    def holding(self, phone: str) -> set[str]:
        return set(vault.subjects_holding(self.store.query, PersonalKind.MOBILE, phone))

    def due(self, rule: Retention) -> dict[str, str]:
        closed_before = rule.closed_before_ms
        due: dict[str, str] = {}
        for (complaint,) in self._rows(
                "SELECT id FROM complaints WHERE state = 'answered' AND answered_at < ?", (closed_before,)):
            due[complaint_subject(str(complaint))] = rule.reason("complaint")
        for hall, rating in self._rows(
                "SELECT hall, rating FROM rating_followups WHERE state = 'closed' AND closed_at < ?",
                (closed_before,)):
            due[followup_subject(str(hall), str(rating))] = rule.reason("rating follow-up")
        kept = vault.kept_subjects(self.store.query, sorted(due))
        due = {subject: why for subject, why in due.items() if subject in kept}
        # A visit's day is in its subject: no projection needs to be current to know it is due.
        for (subject,) in self._rows("SELECT subject FROM personal_keys WHERE subject LIKE 'visit:%'", ()):
            if rule.visit_due(str(subject)):
                due[str(subject)] = rule.reason("visit")
        return due

    def erase(self, subjects: Iterable[str], *, actor: str, reason: str, now_ms: int) -> list[str]:
        subjects = list(subjects)
        if not subjects:
            return []
        with self.store.transaction() as tx:
            erased = vault.erase(tx, subjects, actor=actor, reason=reason, now_ms=now_ms)
        self.store.query("PRAGMA wal_checkpoint(TRUNCATE)")
        return erased

    def _rows(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        try:
            return [tuple(row) for row in self.store.query(sql, params)]
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):  # that desk never ran against this file
                return []
            raise
