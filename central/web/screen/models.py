"""The big screen's board as the API documents it: counts, figures, queues and alarms, never case lists.

`ScreenAnomaly` and `ScreenProject` are the shapes other parts of central fill
(`central.web.screen.parts.ScreenParts`): open high-risk anomalies join the
alarm list, major projects get a small panel.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from central.web.models import AlarmOut, DeviceOut, Out

StageKind = Literal["light", "card", "letter", "state"]


class LegendEntry(Out):
    stage: str
    label: str = Field(description="the word the screen writes (黄灯, 黄牌...)")
    colour: str
    shape: str = Field(description="a symbol read without colour vision")
    kind: StageKind = Field(description="lights are drawn as lamps, cards as cards: never alike")


class Figures(Out):
    """The article's figures over a period, as `hall central stats` counts them."""

    received: int = 0
    completed: int = 0
    on_time: int = 0
    on_time_rate: float | None = Field(None, description="on_time / completed; null when none completed")
    yellow_cards: int = 0
    red_cards: int = 0
    letters: int = 0


class WindowNow(Out):
    """A window as the hall's queue shows it today."""

    window: str
    officer: str | None = Field(description="who called last at this window")
    ticket: str | None = Field(description="the ticket being served now; null: the window is free")
    service: str | None
    serving_since: int | None = Field(description="ms since the epoch")
    served_today: int


class ServiceQueue(Out):
    service: str = Field(description="the service's ticket prefix")
    waiting: int
    longest_wait_s: int | None


class QueueNow(Out):
    """Today's queue of one hall: who waits, for how long, who is served where."""

    waiting: int = 0
    longest_wait_s: int | None = None
    issued: int = 0
    served: int = 0
    avg_wait_s: int | None = None
    windows: list[WindowNow] = Field(default_factory=list)
    services: list[ServiceQueue] = Field(default_factory=list)


class Satisfaction(Out):
    rated: int = 0
    rate: float | None = None
    bad: int = 0
    open_followups: int = 0


class DeviceHealth(Out):
    """A hall's devices at a glance: how many are up, and the ones that need a technician."""

    gateway_online: bool | None = Field(description="null: the hall's gateway has never spoken")
    online: int
    total: int
    troubled: list[DeviceOut] = Field(description="offline, unhealthy, dropping, refused or quarantined")


class CentreRow(Out):
    """One service centre (hall): its open cases per light and how its hall is doing now."""

    hall: str
    name: str
    open: int
    counts: dict[str, int]
    today: Figures
    queue: QueueNow
    satisfaction: Satisfaction | None
    devices: DeviceHealth
    complaints_open: int = 0
    complaints_overdue: int = 0
    data_incomplete_since: int | None = Field(
        None, description="ms: the hall is behind; its lights are as of then and its cards wait")


class UnitRow(Out):
    """One department (unit) over every centre in scope."""

    unit: str
    open: int
    counts: dict[str, int]
    year: Figures = Field(description="this year so far, today included")


class MatrixCell(Out):
    hall: str
    unit: str
    counts: dict[str, int] = Field(description="open cases per stage; stages with none are left out")


class CaseAlarm(Out):
    """An open case at a yellow card or worse. No personal data: no contact, no phone."""

    case_id: str
    hall: str
    unit: str
    matter: str
    officer: str = Field(description="the first-responsible officer (首问负责人)")
    stage: str
    since: int | None = Field(description="ms: when the case reached this stage (newest first)")
    due: str | None = Field(description="its due day")


class ScreenAnomaly(Out):
    """An open high-risk anomaly, as the supervision office's rules raise them (issue #19 fills it)."""

    anomaly: str = Field(description="the anomaly record's id")
    hall: str | None = None
    unit: str | None = None
    rule: str = Field(description="the rule's name")
    title: str = Field(description="what happened, in plain words (no personal data)")
    risk: str = Field("high", description="the rule's risk level")
    at: int = Field(description="ms: when it was raised (newest first)")
    state: str = Field("open", description="open, acknowledged or assigned: not yet closed")


class ScreenProject(Out):
    """A major project (重大项目) in the green channel: its light is its slowest case's."""

    project: str
    name: str
    stage: str = Field(description="the project's light, one of the legend's stages")
    cases: int
    slowest_case: str | None = None
    slowest_unit: str | None = None
    due: str | None = Field(None, description="the project's committed overall due day")


class AlarmList(Out):
    """Everything that asks a supervisor to act, newest first within each kind."""

    cases: list[CaseAlarm] = Field(description="yellow cards and worse, newest first")
    cases_total: int = Field(description="every open case at a yellow card or worse, listed or not")
    security: list[AlarmOut] = Field(description="facts refused as beyond their author's authority")
    anomalies: list[ScreenAnomaly] | None = Field(
        description="open high-risk anomalies; null: this central runs no anomaly rules")


class Scope(Out):
    hall: str | None = None
    unit: str | None = None


class ScreenBoard(Out):
    """Everything the big screen shows, counted in SQL: its size does not grow with the open cases."""

    version: int = Field(description="changes when anything on the screen may have changed")
    now: str = Field(description="central's time, ISO 8601 with the halls' offset")
    now_ms: int
    utc_offset_min: int = Field(description="the halls' offset from UTC: the page's clock shows hall time")
    day: str = Field(description="the halls' today (YYYY-MM-DD)")
    scope: Scope
    legend: list[LegendEntry]
    open_cases: int
    counts: dict[str, int] = Field(description="open cases per stage, every stage listed")
    today: Figures
    year: Figures = Field(description="running totals: this year so far, today included")
    centres: list[CentreRow]
    units: list[UnitRow]
    matrix: list[MatrixCell]
    alarms: AlarmList
    projects: list[ScreenProject] | None = Field(
        description="major projects, slowest first; null: this central keeps no projects")
