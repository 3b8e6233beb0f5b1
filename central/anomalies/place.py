"""The supervision file as a place that keeps personal data (`central.erasure`): erased with the rest.

Two things here can touch a citizen: a supervisor's notes on an anomaly
(sealed with the anomaly's key, erased as a whole by the retention rule once
the anomaly is long closed, or on request when they hold the number), and the
applicant pseudonyms a rule keeps for its window (the rows of an erased case
are deleted, so no digest outlives the case's own data).
"""

from __future__ import annotations

from collections.abc import Iterable

from central.anomalies.book import anomaly_subject
from central.anomalies.detectors.pairs import OfficerApplicantPairs
from central.anomalies.pseudonyms import Pseudonyms, applicant_key
from central.personal import vault
from central.personal.retention import Retention
from central.supervision_store import SupervisionStore
from contract.privacy import PersonalKind


class SupervisionPlace:
    name = "supervision"

    def __init__(self, store: SupervisionStore) -> None:
        self.store = store
        # The rule's table, whether or not the rule is on: rows kept before it was switched off count.
        store.ensure(OfficerApplicantPairs.schema)

    def holding(self, phone: str) -> set[str]:
        subjects = set(vault.subjects_holding(self.store.query, PersonalKind.MOBILE, phone))
        with self.store.transaction() as tx:
            digest = Pseudonyms(applicant_key(tx), None)("", phone)
        if digest is not None:
            subjects |= {f"case:{row[0]}" for row in self.store.query(
                "SELECT DISTINCT case_id FROM anomaly_pairs WHERE applicant = ?", (digest,))}
        return subjects

    def due(self, rule: Retention) -> dict[str, str]:
        closed = [anomaly_subject(str(row[0])) for row in self.store.query(
            "SELECT id FROM anomalies WHERE state = 'closed' AND closed_at < ?", (rule.closed_before_ms,))]
        kept = vault.kept_subjects(self.store.query, closed)
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
                    if tx.execute("DELETE FROM anomaly_pairs WHERE case_id = ?", (case,)).rowcount:
                        erased.append(f"case:{case}")
        self.store.query("PRAGMA wal_checkpoint(TRUNCATE)")
        return sorted(set(erased))
