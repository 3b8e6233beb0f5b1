"""Open high-risk anomalies and the major projects, in one small answer for other screens and scripts.

The big screen itself gets them inside its board (`central.web.screen.supervision_slots`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from central.anomalies.table import Risk
from central.web.auth import reader
from central.web.labels import look
from central.web.models import Out

router = APIRouter(prefix="/api/screen", tags=["big screen"], dependencies=[Depends(reader)])

PANEL_ANOMALIES = 12


class PanelAnomaly(Out):
    id: str
    title: str
    risk: str
    hall: str | None
    unit: str | None
    summary: str
    raised_at: str | None
    state: str


class PanelProject(Out):
    id: str
    name: str
    coordinator: str
    stage: str
    stage_label: str
    colour: str
    own_due: str | None
    slowest_case: str | None
    slowest_unit: str | None
    slowest_stage_label: str | None
    cases: int


class SupervisionPanel(Out):
    risk: str = Field(description="anomalies of this risk or higher are listed")
    open_anomalies: int = Field(description="every open anomaly at that risk")
    anomalies: list[PanelAnomaly] = Field(description="the newest open ones first")
    projects: list[PanelProject] = Field(description="the worst light first")


@router.get("/supervision", response_model=SupervisionPanel,
            summary="Open high-risk anomalies and major projects, for the big screen's panel")
def panel(request: Request) -> SupervisionPanel:
    office = request.app.state.central.supervision
    if office is None:
        return SupervisionPanel(risk="high", open_anomalies=0, anomalies=[], projects=[])
    wanted = [risk.value for risk in Risk if risk.rank >= office.screen_risk.rank]
    anomalies = [a for risk in wanted for a in office.anomalies.find(open_only=True, risk=risk,
                                                                    limit=PANEL_ANOMALIES)]
    anomalies.sort(key=lambda a: (a["raised_at"] or "", a["id"]), reverse=True)
    count = sum(office.anomalies.count(open_only=True, risk=risk) for risk in wanted)
    projects = []
    for project in office.projects.all():
        slowest = project["slowest"] or {}
        projects.append(PanelProject(
            id=project["id"], name=project["name"], coordinator=project["coordinator"],
            stage=project["stage"],
            stage_label=look(project["stage"]).label, colour=look(project["stage"]).colour,
            own_due=project["own_due"], slowest_case=slowest.get("case_id"), slowest_unit=slowest.get("unit"),
            slowest_stage_label=look(slowest["stage"]).label if slowest else None,
            cases=len(project["cases"])))
    return SupervisionPanel(
        risk=office.screen_risk.value, open_anomalies=count, projects=projects,
        anomalies=[PanelAnomaly.model_validate({k: a[k] for k in PanelAnomaly.model_fields})
                   for a in anomalies[:PANEL_ANOMALIES]])
