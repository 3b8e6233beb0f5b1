"""A camera gap during a complained-about visit: the evidence a complaint needs is missing.

Central knows a complaint's visit (its window and time, once linked) from the
complaint log, and each recorder's gaps from its `recorder.gap` events, which
may come days later (a recorder offline); whichever comes second completes
the hit. Central does not know which camera covers which window (the
recorder does), so a gap on any camera of the hall counts, and the finding
says whether it mattered.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from sqlalchemy import BigInteger, Column, Index, Table, Text, bindparam, delete, select

from central.anomalies.detectors.base import Detector, Settings
from central.anomalies.facts import Fact, Hit
from central.anomalies.judging import Judging
from central.anomalies.tables import SUPERVISION_TABLES
from central.cases.timebase import format_instant
from spine.statement import Statement, Tx, insert_for

_DAY_MS = 86_400_000

ANOMALY_COMPLAINT_VISITS = Table(
    "anomaly_complaint_visits", SUPERVISION_TABLES,
    Column("rule", Text, primary_key=True),
    Column("complaint", Text, primary_key=True),
    Column("hall", Text, nullable=False),
    Column("window", Text),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    Index("anomaly_complaint_visits_by_hall", "rule", "hall", "end_ms"),
)
ANOMALY_CAMERA_GAPS = Table(
    "anomaly_camera_gaps", SUPERVISION_TABLES,
    Column("rule", Text, primary_key=True),
    Column("hall", Text, primary_key=True),
    Column("device", Text, primary_key=True),
    Column("gap_id", BigInteger, primary_key=True),
    Column("camera", Text, nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    Column("cause", Text, nullable=False),
    Index("anomaly_camera_gaps_by_hall", "rule", "hall", "end_ms"),
)
_V, _G = ANOMALY_COMPLAINT_VISITS.c, ANOMALY_CAMERA_GAPS.c


def _upsert(table: Table, key: tuple[str, ...], rest: tuple[str, ...]) -> Statement:
    """Insert a row, or replace its other columns (a later report of the same visit or gap)."""
    return Statement(lambda dialect: insert_for(dialect, table).values(
        {name: bindparam(name) for name in (*key, *rest)}).on_conflict_do_update(
        index_elements=list(key), set_={name: bindparam(name) for name in rest}))


_VISIT = _upsert(ANOMALY_COMPLAINT_VISITS, ("rule", "complaint"), ("hall", "window", "start_ms", "end_ms"))
_GAP = _upsert(ANOMALY_CAMERA_GAPS, ("rule", "hall", "device", "gap_id"), ("camera", "start_ms", "end_ms",
                                                                           "cause"))
_GAPS_DURING = Statement(lambda _dialect: select(
    _G.device, _G.camera, _G.start_ms, _G.end_ms, _G.cause).where(
    _G.rule == bindparam("rule"), _G.hall == bindparam("hall"), _G.end_ms > bindparam("start"),
    _G.start_ms < bindparam("end")).order_by(_G.start_ms))
_VISITS_DURING = Statement(lambda _dialect: select(_V.complaint, _V.window, _V.start_ms, _V.end_ms).where(
    _V.rule == bindparam("rule"), _V.hall == bindparam("hall"), _V.end_ms > bindparam("start"),
    _V.start_ms < bindparam("end")).order_by(_V.complaint))
_PRUNE_VISITS = Statement(lambda _dialect: delete(ANOMALY_COMPLAINT_VISITS).where(
    _V.rule == bindparam("rule"), _V.end_ms < bindparam("before")))
_PRUNE_GAPS = Statement(lambda _dialect: delete(ANOMALY_CAMERA_GAPS).where(
    _G.rule == bindparam("rule"), _G.end_ms < bindparam("before")))


class Evidence(Settings):
    margin_s: int = Field(60, ge=0, description="footage needed before and after the visit")
    keep_days: int = Field(45, ge=1, description="how long a visit waits for a late gap report")


class CameraGapInComplaint(Detector[Evidence]):
    name = "camera_gap_in_complaint"
    kinds = frozenset({"complaint.visit_linked", "recorder.gap"})
    settings_model = Evidence
    schema = """
CREATE TABLE IF NOT EXISTS anomaly_complaint_visits (
    rule TEXT NOT NULL,
    complaint TEXT NOT NULL,
    hall TEXT NOT NULL,
    window TEXT,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    PRIMARY KEY (rule, complaint)
);
CREATE INDEX IF NOT EXISTS anomaly_complaint_visits_by_hall ON anomaly_complaint_visits (rule, hall, end_ms);
CREATE TABLE IF NOT EXISTS anomaly_camera_gaps (
    rule TEXT NOT NULL,
    hall TEXT NOT NULL,
    device TEXT NOT NULL,
    gap_id INTEGER NOT NULL,
    camera TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    cause TEXT NOT NULL,
    PRIMARY KEY (rule, hall, device, gap_id)
);
CREATE INDEX IF NOT EXISTS anomaly_camera_gaps_by_hall ON anomaly_camera_gaps (rule, hall, end_ms);
"""

    def judge(self, judging: Judging, fact: Fact) -> list[Hit]:
        if fact.kind == "recorder.gap":
            return self._gap(judging.tx, fact)
        return self._visit(judging.tx, fact)

    def _visit(self, tx: Tx, fact: Fact) -> list[Hit]:
        body, complaint = fact.body, str(fact.body.get("complaint") or "")
        called = body.get("called_at")
        if not fact.hall or not complaint or not isinstance(called, int):
            return []
        margin = self.settings.margin_s * 1000
        start, end = called - margin, int(body.get("ended_at") or called) + margin
        _VISIT.run(tx, {"rule": self.rule, "complaint": complaint, "hall": fact.hall,
                        "window": body.get("window"), "start_ms": start, "end_ms": end})
        gaps = [tuple(row) for row in _GAPS_DURING.run(
            tx, {"rule": self.rule, "hall": fact.hall, "start": start, "end": end}).fetchall()]
        return [self._hit(fact, complaint, fact.hall, body.get("window"), start, end, gaps)] if gaps else []

    def _gap(self, tx: Tx, fact: Fact) -> list[Hit]:
        body, hall = fact.body, fact.hall or ""
        device = str(body.get("device") or fact.actor or "")
        try:
            gap = (int(body["gap_id"]), str(body["camera"]), int(body["start"]), int(body["end"]),
                   str(body["cause"]))
        except (KeyError, TypeError, ValueError):
            return []
        # A later report of the same gap (pruning extended it) supersedes the earlier one.
        gap_id, camera, start, end, cause = gap
        _GAP.run(tx, {"rule": self.rule, "hall": hall, "device": device, "gap_id": gap_id, "camera": camera,
                      "start_ms": start, "end_ms": end, "cause": cause})
        visits = _VISITS_DURING.run(
            tx, {"rule": self.rule, "hall": hall, "start": start, "end": end}).fetchall()
        return [self._hit(fact, complaint, hall, window, v_start, v_end,
                          [(device, camera, start, end, cause)])
                for complaint, window, v_start, v_end in visits]

    def _hit(self, fact: Fact, complaint: str, hall: str, window: object, start: int, end: int,
             gaps: list[tuple[Any, ...]]) -> Hit:
        described = [f"{camera} of {device} {format_instant(g_start // 1000)}–"
                     f"{format_instant(g_end // 1000)[11:]} ({cause})"
                     for device, camera, g_start, g_end, cause in gaps]
        return Hit(key=complaint, at=fact.at,
                   summary=(f"complaint {complaint}: footage of hall {hall} is missing during the visit at "
                            f"window {window} ({format_instant(start // 1000)}): {'; '.join(described)}"),
                   hall=hall, subject=str(window or ""), refs=(fact.ref,),
                   details={"complaint": complaint, "gaps": len(gaps)})

    def prune(self, tx: Tx, before_ms: int) -> None:
        cutoff = {"rule": self.rule, "before": before_ms - self.settings.keep_days * _DAY_MS}
        _PRUNE_VISITS.run(tx, cutoff)
        _PRUNE_GAPS.run(tx, cutoff)
