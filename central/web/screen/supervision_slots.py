"""The big screen's two open slots filled from the supervision office (docs/supervision.md).

Open anomalies at or above the office's screen risk join the alarm list; the
major projects get their small panel. Both read the office's kept state (its
anomaly table and the projects' member cases as the last tick left them), never
history, so a refresh stays cheap; the board cache keeps them between changes.
"""

from __future__ import annotations

from typing import Any

from central.anomalies.table import Risk
from central.cases.timebase import parse_instant
from central.supervision import SupervisionOffice
from central.web.screen.models import ScreenAnomaly, ScreenProject
from central.web.screen.parts import AnomalySource, ProjectSource


def anomaly_slot(office: SupervisionOffice) -> AnomalySource:
    def open_anomalies(hall: str | None, most: int) -> list[ScreenAnomaly]:
        wanted = [risk.value for risk in Risk if risk.rank >= office.screen_risk.rank]
        found = [a for risk in wanted
                 for a in office.anomalies.find(open_only=True, risk=risk, hall=hall, limit=most)]
        found.sort(key=lambda a: (a["raised_at"] or "", a["id"]), reverse=True)
        return [_anomaly(a) for a in found[:most]]

    return open_anomalies


def project_slot(office: SupervisionOffice) -> ProjectSource:
    def projects(hall: str | None, most: int) -> list[ScreenProject]:
        # A hall's screen shows the projects with a case in that hall; the city's shows them all.
        found = [p for p in office.projects.all()
                 if hall is None or any(case["hall"] == hall for case in p["cases"])]
        return [_project(p) for p in found[:most]]

    return projects


def _anomaly(record: dict[str, Any]) -> ScreenAnomaly:
    raised = record["raised_at"]
    return ScreenAnomaly(
        anomaly=record["id"], hall=record["hall"], unit=record["unit"], rule=record["rule"],
        # The rule's title, then what happened (the summary is already free of personal data).
        title=" · ".join(part for part in (record["title"], record["summary"]) if part), risk=record["risk"],
        at=parse_instant(raised) * 1000 if raised else 0, state=record["state"])


def _project(project: dict[str, Any]) -> ScreenProject:
    slowest = project["slowest"] or {}
    return ScreenProject(
        project=project["id"], name=project["name"], stage=project["stage"], cases=len(project["cases"]),
        slowest_case=slowest.get("case_id"), slowest_unit=slowest.get("unit"), due=project["own_due"])
