"""The same officer and the same applicant together unusually often (利益关联).

The applicant is known by a pseudonym (a keyed digest of the contact phone,
made with the supervision file's own key), never by the number: the rule's
state holds pseudonyms only as long as its window, and an erasure of the case
removes its row (`central.anomalies.place`). A hit names the cases, not the
applicant.
"""

from __future__ import annotations

from pydantic import Field
from sqlalchemy import BigInteger, Column, Index, Table, Text, bindparam, delete, select

from central.anomalies.detectors.base import Detector, Settings, officer_of
from central.anomalies.facts import Fact, Hit
from central.anomalies.judging import Judging
from central.anomalies.tables import SUPERVISION_TABLES
from spine.statement import Statement, Tx, insert_for

_DAY_MS = 86_400_000

ANOMALY_PAIRS = Table(
    "anomaly_pairs", SUPERVISION_TABLES,
    Column("rule", Text, primary_key=True),
    Column("officer", Text, primary_key=True),
    Column("applicant", Text, primary_key=True),
    Column("case_id", Text, primary_key=True),
    Column("at", BigInteger, nullable=False),
    Index("anomaly_pairs_by_pair", "rule", "officer", "applicant", "at"),
    Index("anomaly_pairs_by_time", "rule", "at"),
    Index("anomaly_pairs_by_case", "case_id"),
)
_T = ANOMALY_PAIRS.c
_PAIRED = Statement(lambda dialect: insert_for(dialect, ANOMALY_PAIRS).values(
    {name: bindparam(name) for name in ("rule", "officer", "applicant", "case_id", "at")}
).on_conflict_do_nothing(index_elements=["rule", "officer", "applicant", "case_id"]))
_TOGETHER = Statement(lambda _dialect: select(_T.case_id).where(
    _T.rule == bindparam("rule"), _T.officer == bindparam("officer"), _T.applicant == bindparam("applicant"),
    _T.at > bindparam("since"), _T.at <= bindparam("at")).order_by(_T.at, _T.case_id))
_PRUNE = Statement(lambda _dialect: delete(ANOMALY_PAIRS).where(
    _T.rule == bindparam("rule"), _T.at < bindparam("before")))


class Together(Settings):
    count: int = Field(4, ge=2, description="cases of one officer for one applicant that make an anomaly")
    window_days: int = Field(90, ge=1, le=3650, description="... within this many days")


class OfficerApplicantPairs(Detector[Together]):
    name = "officer_applicant_pairs"
    kinds = frozenset({"case.accepted"})
    settings_model = Together
    schema = """
CREATE TABLE IF NOT EXISTS anomaly_pairs (
    rule TEXT NOT NULL,
    officer TEXT NOT NULL,
    applicant TEXT NOT NULL,
    case_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (rule, officer, applicant, case_id)
);
CREATE INDEX IF NOT EXISTS anomaly_pairs_by_pair ON anomaly_pairs (rule, officer, applicant, at);
CREATE INDEX IF NOT EXISTS anomaly_pairs_by_time ON anomaly_pairs (rule, at);
CREATE INDEX IF NOT EXISTS anomaly_pairs_by_case ON anomaly_pairs (case_id);
"""

    def judge(self, judging: Judging, fact: Fact) -> list[Hit]:
        officer = officer_of(fact.body)
        applicant = judging.pseudonym(str(fact.case_id), fact.body.get("contact_phone"))
        if officer is None or applicant is None:
            return []
        tx = judging.tx
        pair = {"rule": self.rule, "officer": officer, "applicant": applicant}
        _PAIRED.run(tx, {**pair, "case_id": fact.case_id, "at": fact.at})
        since = fact.at - self.settings.window_days * _DAY_MS
        cases = [row[0] for row in _TOGETHER.run(tx, {**pair, "since": since, "at": fact.at}).fetchall()]
        if len(cases) < self.settings.count:
            return []
        name = fact.body.get("officer_name") or officer
        # Keyed by the first case of the run: one anomaly per run, however long it grows.
        return [Hit(key=f"{officer}|{cases[0]}", at=fact.at,
                    summary=f"officer {name} accepted {len(cases)} cases of the same applicant within "
                            f"{self.settings.window_days} days ({', '.join(cases)})",
                    hall=fact.hall, unit=fact.unit, case_id=fact.case_id, subject=str(name),
                    refs=tuple(f"case-id:{case}" for case in cases), details={"cases": cases})]

    def prune(self, tx: Tx, before_ms: int) -> None:
        _PRUNE.run(tx, {"rule": self.rule, "before": before_ms - self.settings.window_days * _DAY_MS})
