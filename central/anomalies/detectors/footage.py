"""A camera gap during a complained-about visit: the evidence a complaint needs is missing.

Central knows a complaint's visit (its window and time, once linked) from the
complaint log, and each recorder's gaps from its `recorder.gap` events, which
may come days later (a recorder offline); whichever comes second completes
the hit. Central does not know which camera covers which window (the
recorder does), so a gap on any camera of the hall counts, and the finding
says whether it mattered.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pydantic import Field

from central.anomalies.detectors.base import Detector, Settings
from central.anomalies.facts import Fact, Hit
from central.anomalies.judging import Judging
from central.cases.timebase import format_instant

_DAY_MS = 86_400_000


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

    def _visit(self, tx: sqlite3.Connection, fact: Fact) -> list[Hit]:
        body, complaint = fact.body, str(fact.body.get("complaint") or "")
        called = body.get("called_at")
        if not fact.hall or not complaint or not isinstance(called, int):
            return []
        margin = self.settings.margin_s * 1000
        start, end = called - margin, int(body.get("ended_at") or called) + margin
        tx.execute("INSERT INTO anomaly_complaint_visits (rule, complaint, hall, window, start_ms, end_ms) "
                   "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (rule, complaint) DO UPDATE SET "
                   "window = excluded.window, start_ms = excluded.start_ms, end_ms = excluded.end_ms",
                   (self.rule, complaint, fact.hall, body.get("window"), start, end))
        gaps = tx.execute(
            "SELECT device, camera, start_ms, end_ms, cause FROM anomaly_camera_gaps WHERE rule = ? "
            "AND hall = ? AND end_ms > ? AND start_ms < ? ORDER BY start_ms",
            (self.rule, fact.hall, start, end)).fetchall()
        return [self._hit(fact, complaint, fact.hall, body.get("window"), start, end, gaps)] if gaps else []

    def _gap(self, tx: sqlite3.Connection, fact: Fact) -> list[Hit]:
        body, hall = fact.body, fact.hall or ""
        device = str(body.get("device") or fact.actor or "")
        try:
            gap = (int(body["gap_id"]), str(body["camera"]), int(body["start"]), int(body["end"]),
                   str(body["cause"]))
        except (KeyError, TypeError, ValueError):
            return []
        # A later report of the same gap (pruning extended it) supersedes the earlier one.
        tx.execute("INSERT INTO anomaly_camera_gaps (rule, hall, device, gap_id, camera, start_ms, end_ms, "
                   "cause) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rule, hall, device, gap_id) "
                   "DO UPDATE "
                   "SET camera = excluded.camera, start_ms = excluded.start_ms, end_ms = excluded.end_ms, "
                   "cause = excluded.cause", (self.rule, hall, device, *gap))
        _, camera, start, end, cause = gap
        visits = tx.execute(
            "SELECT complaint, window, start_ms, end_ms FROM anomaly_complaint_visits WHERE rule = ? "
            "AND hall = ? AND end_ms > ? AND start_ms < ?", (self.rule, hall, start, end)).fetchall()
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

    def prune(self, tx: sqlite3.Connection, before_ms: int) -> None:
        cutoff = before_ms - self.settings.keep_days * _DAY_MS
        tx.execute("DELETE FROM anomaly_complaint_visits WHERE rule = ? AND end_ms < ?", (self.rule, cutoff))
        tx.execute("DELETE FROM anomaly_camera_gaps WHERE rule = ? AND end_ms < ?", (self.rule, cutoff))
