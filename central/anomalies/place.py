"""The supervision file as a place that keeps personal data (`central.erasure`): erased with the rest.

Two things here can touch a citizen: a supervisor's notes on an anomaly
(sealed with the anomaly's key, erased as a whole by the retention rule once
the anomaly is long closed, or on request when they hold the number), and the
applicant pseudonyms a rule keeps for its window (the rows of an erased case
are deleted, so no digest outlives the case's own data).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, delete, distinct, select

from central.anomalies.book import anomaly_subject
from central.anomalies.detectors.pairs import ANOMALY_PAIRS, OfficerApplicantPairs
from central.anomalies.pseudonyms import Pseudonyms, applicant_key
from central.anomalies.tables import ANOMALIES
from central.personal import vault
from central.personal.retention import Retention
from central.supervision_store import SupervisionStore
from contract.privacy import PersonalKind
from spine.statement import Statement

_PAIRS = ANOMALY_PAIRS.c
_CASES_OF = Statement(lambda _dialect: select(distinct(_PAIRS.case_id)).where(
    _PAIRS.applicant == bindparam("applicant")))
_CLOSED_BEFORE = Statement(lambda _dialect: select(ANOMALIES.c.id).where(
    ANOMALIES.c.state == "closed", ANOMALIES.c.closed_at < bindparam("before")))
_FORGET_CASE = Statement(lambda _dialect: delete(ANOMALY_PAIRS).where(_PAIRS.case_id == bindparam("case_id")))


class SupervisionPlace:
    name = "supervision"

    def __init__(self, store: SupervisionStore) -> None:
        self.store = store
        # The rule's table, whether or not the rule is on: rows kept before it was switched off count.
        store.ensure(OfficerApplicantPairs.schema)

    def holding(self, phone: str) -> set[str]:
        with self.store.reading() as read:
            held = vault.subjects_holding(read, PersonalKind.MOBILE, phone)
        # On PostgreSQL the vault is the database's, shared with the event store: this place
        # answers for the office's own subjects only (in supervision.sqlite they are all its own).
        subjects = {subject for subject in held if subject.startswith(anomaly_subject(""))}
        with self.store.transaction() as tx:
            digest = Pseudonyms(applicant_key(tx), None)("", phone)
        if digest is not None:
            subjects |= {f"case:{row[0]}" for row in self.store.rows(_CASES_OF, {"applicant": digest})}
        return subjects

    def due(self, rule: Retention) -> dict[str, str]:
        closed = [anomaly_subject(str(row[0])) for row in self.store.rows(
            _CLOSED_BEFORE, {"before": rule.closed_before_ms})]
        with self.store.reading() as read:
            kept = vault.kept_subjects(read, closed)
        return {subject: rule.reason("anomaly") for subject in closed if subject in kept}

    def erase(self, subjects: Iterable[str], *, actor: str, reason: str, now_ms: int) -> list[str]:
        subjects = list(subjects)
        if not subjects:
            return []
        cases = [s.removeprefix("case:") for s in subjects if s.startswith("case:")]
        with self.store.transaction() as tx:
            erased = vault.erase(tx, subjects, actor=actor, reason=reason, now_ms=now_ms)
            if cases:
                for case in cases:
                    if _FORGET_CASE.run(tx, {"case_id": case}).rowcount:
                        erased.append(f"case:{case}")
        self.store.checkpoint()
        return sorted(set(erased))
