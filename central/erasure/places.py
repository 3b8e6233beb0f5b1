"""The places central keeps sealed personal data in, each with its own file and its own keys.

`CasePlace`: the case store (`cases.sqlite`: the case log and its projection).
`CentralPlace`: central's event store (`events.sqlite`, or its PostgreSQL database:
the event log, complaints, rating follow-ups, queue contacts), read and erased through
statements written once for both. A subject may have a key in both (a case whose
facts came from a hall's events): an erasure goes to every place.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from sqlalchemy import bindparam, select

from central.cases.store import CaseStore
from central.complaints.desk import COMPLAINTS
from central.personal import case_subject, complaint_subject, followup_subject, vault
from central.personal.retention import Retention
from central.personal.vault import PERSONAL_KEYS
from central.ratings.tables import RATING_FOLLOWUPS
from central.store import CentralStore
from contract.privacy import PersonalKind
from spine.engines import open_engine
from spine.statement import Statement

_ANSWERED = Statement(lambda _dialect: select(COMPLAINTS.c.id).where(
    COMPLAINTS.c.state == "answered", COMPLAINTS.c.answered_at < bindparam("before")))
_CLOSED_FOLLOWUPS = Statement(lambda _dialect: select(
    RATING_FOLLOWUPS.c.hall, RATING_FOLLOWUPS.c.rating).where(
    RATING_FOLLOWUPS.c.state == "closed", RATING_FOLLOWUPS.c.closed_at < bindparam("before")))
_VISITS = Statement(lambda _dialect: select(PERSONAL_KEYS.c.subject).where(
    PERSONAL_KEYS.c.subject.like("visit:%")))


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
        return set(self.store.read(lambda tx: vault.subjects_holding(tx, PersonalKind.MOBILE, phone)))

    def due(self, rule: Retention) -> dict[str, str]:
        closed_before = {"before": rule.closed_before_ms}
        due: dict[str, str] = {}
        for (complaint,) in self._rows(_ANSWERED, closed_before):
            due[complaint_subject(str(complaint))] = rule.reason("complaint")
        for hall, rating in self._rows(_CLOSED_FOLLOWUPS, closed_before):
            due[followup_subject(str(hall), str(rating))] = rule.reason("rating follow-up")
        kept = self.store.read(lambda tx: vault.kept_subjects(tx, sorted(due)))
        due = {subject: why for subject, why in due.items() if subject in kept}
        # A visit's day is in its subject: no projection needs to be current to know it is due.
        for (subject,) in self._rows(_VISITS, {}):
            if rule.visit_due(str(subject)):
                due[str(subject)] = rule.reason("visit")
        return due

    def erase(self, subjects: Iterable[str], *, actor: str, reason: str, now_ms: int) -> list[str]:
        subjects = list(subjects)
        if not subjects:
            return []
        with self.store.statements() as tx:
            erased = vault.erase(tx, subjects, actor=actor, reason=reason, now_ms=now_ms)
        self._forget_old_frames()
        return erased

    def _forget_old_frames(self) -> None:
        """The erased keys' old images, outside the erasure's transaction (`vault.forget_old_frames`)."""
        if self.store.url.is_sqlite:
            self.store.query("PRAGMA wal_checkpoint(TRUNCATE)")
            return
        # VACUUM runs outside any transaction: on a connection of its own, so the store's stays
        # transactional. Erasures are rare; a connection each is cheap enough.
        engine = open_engine(self.store.url)
        try:
            with engine.connect() as connection:
                vault.forget_old_frames(connection)
        finally:
            engine.dispose()

    def _rows(self, statement: Statement, params: dict[str, Any]) -> list[tuple[object, ...]]:
        try:
            return [tuple(row) for row in self.store.read(lambda tx: statement.run(tx, params).fetchall())]
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):  # that desk never ran against this SQLite file
                return []
            raise
