"""`/api/projects`: major projects in the green channel, their light and the case holding them back.

Reads need the viewer role; creating a project, adding a case and issuing a
green-channel pass need the supervisor role.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from central.cases.stages import LimitUnit
from central.cases.timebase import instant_from_datetime
from central.projects import NewProject
from central.web.auth import Principal, reader, writer
from central.web.labels import look
from central.web.models import NOT_FOUND, REFUSED, Out, VerifyResult
from central.web.supervision_door import announce, guarded, office
from contract.events.cases import CASE_ID_PATTERN

router = APIRouter(prefix="/api/projects", tags=["projects"])
Reader = Annotated[Principal, Depends(reader)]
Writer = Annotated[Principal, Depends(writer)]
PROJECT_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{2,40}$"


class ProjectCaseOut(Out):
    case_id: str
    hall: str
    unit: str
    matter: str
    officer: str
    stage: str
    due: str | None


class ProjectOut(Out):
    """A project with its overall light: the worse of its own countdown and its slowest case's."""

    id: str
    name: str
    coordinator: str
    limit: int
    limit_unit: str
    started_at: str | None
    stage: str
    stage_label: str
    own_stage: str = Field(description="the project's own countdown on its committed limit")
    own_due: str | None
    slowest: ProjectCaseOut | None = Field(description="the case holding the project back")
    units: list[str]
    counts: dict[str, int]
    cases: list[ProjectCaseOut]


class ProjectIn(BaseModel):
    # An unknown field is an error, as in the complaint desk's bodies: a typo is not ignored.
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=PROJECT_ID)
    name: str = Field(min_length=1, max_length=120)
    coordinator: str = Field(min_length=1, max_length=60, description="who coordinates its approvals")
    limit: int = Field(ge=1, le=3650, description="the committed overall limit")
    limit_unit: Literal["workdays", "days", "months"] = "workdays"
    started_at: datetime | None = Field(None, description="default: its first case's acceptance")
    cases: list[Annotated[str, Field(pattern=CASE_ID_PATTERN)]] = Field(default_factory=list, max_length=200)


class ProjectCaseIn(BaseModel):
    # An unknown field is an error, as in the complaint desk's bodies: a typo is not ignored.
    model_config = ConfigDict(extra="forbid")

    case_id: str = Field(pattern=CASE_ID_PATTERN)


class PassIn(BaseModel):
    # An unknown field is an error, as in the complaint desk's bodies: a typo is not ignored.
    model_config = ConfigDict(extra="forbid")

    hall: str = Field(min_length=1, max_length=40)
    service: str = Field(pattern=r"^[A-Z]{1,2}$", description="the service prefix the applicant is called in")
    day: date
    window: str | None = Field(None, max_length=16)


class PassOut(Out):
    code: str = Field(description="typed at the kiosk: a ticket called before ordinary ones")
    hall: str
    service: str
    day: str
    window: str | None


class StepOut(Out):
    seq: int
    type: str
    at: str
    actor: str
    body: dict[str, Any]


def project_out(data: dict[str, Any]) -> ProjectOut:
    return ProjectOut.model_validate({**data, "stage_label": look(data["stage"]).label})


@router.get("", response_model=list[ProjectOut], summary="Every project, the worst light first")
def list_projects(request: Request, _who: Reader) -> list[ProjectOut]:
    return [project_out(p) for p in office(request).projects.all()]


@router.post("", response_model=ProjectOut, status_code=201, responses={**NOT_FOUND, **REFUSED},
             summary="Put a project in the green channel, with its cases")
def create(request: Request, body: ProjectIn, who: Writer) -> ProjectOut:
    desk = office(request).projects
    new = NewProject(id=body.id, name=body.name, coordinator=body.coordinator, limit=body.limit,
                     limit_unit=LimitUnit(body.limit_unit),
                     started_at=instant_from_datetime(body.started_at) if body.started_at else None,
                     cases=tuple(dict.fromkeys(body.cases)))
    guarded(lambda: desk.create(new, who.name))
    announce(request, "project", {"id": body.id})
    return project_out(desk.get(body.id))


@router.get("/verify", response_model=VerifyResult, summary="Check the project log's hash chain")
def verify(request: Request, _who: Reader) -> VerifyResult:
    return VerifyResult.model_validate(office(request).projects.verify())


@router.get("/{project}", response_model=ProjectOut, responses=NOT_FOUND, summary="One project and its cases")
def get(request: Request, project: str, _who: Reader) -> ProjectOut:
    return project_out(guarded(lambda: office(request).projects.get(project)))


@router.get("/{project}/history", response_model=list[StepOut], responses=NOT_FOUND,
            summary="Every step of a project, as appended")
def history(request: Request, project: str, _who: Reader) -> list[StepOut]:
    return [StepOut.model_validate(s) for s in guarded(lambda: office(request).projects.history(project))]


@router.post("/{project}/cases", response_model=ProjectOut, responses={**NOT_FOUND, **REFUSED},
             summary="Add a case (of any unit) to the project")
def add_case(request: Request, project: str, body: ProjectCaseIn, who: Writer) -> ProjectOut:
    desk = office(request).projects
    guarded(lambda: desk.add_case(project, body.case_id, who.name))
    announce(request, "project", {"id": project})
    return project_out(desk.get(project))


@router.get("/{project}/passes", response_model=list[PassOut], responses=NOT_FOUND,
            summary="The green-channel passes issued for the project (supervisors only)")
def passes(request: Request, project: str, _who: Writer) -> list[PassOut]:
    supervision = office(request)
    guarded(lambda: supervision.projects.get(project))
    return [PassOut.model_validate(p) for p in supervision.green_channel.passes(project)]


@router.post("/{project}/passes", response_model=PassOut, status_code=201,
             responses={**NOT_FOUND, **REFUSED},
             summary="A green-channel pass for an applicant: priority at the hall's kiosk on that day")
def issue_pass(request: Request, project: str, body: PassIn, who: Writer) -> PassOut:
    channel = office(request).green_channel
    day = body.day.isoformat()
    code = guarded(lambda: channel.issue(project, hall=body.hall, service=body.service, day=day,
                                         window=body.window, actor=who.name))
    return PassOut(code=code, hall=body.hall, service=body.service, day=day, window=body.window)
