"""Major projects in the green channel (重大项目绿色通道): a project groups the cases of one investment
project across units (并联审批), with its own committed limit, a coordinator, and its own light.

Every step (created, a case added, a green-channel pass issued) is appended to
the project log (`central.ledger`, hash-chained); `projects` and
`project_cases` are its current view. A project's light is read afresh from
its cases' rows in the case store (`central.projects.light`), so it follows
them at every tick without a copy of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, Index, MetaData, Table, Text, bindparam, select

from central.cases.calendar import WorkCalendar
from central.cases.rules import Ladder
from central.cases.stages import Limit, LimitUnit
from central.cases.timebase import Instant, format_day, format_instant
from central.ledger import Ledger
from central.projects.light import MemberCase, ProjectLight, project_light, severity
from central.supervision_store import SupervisionStore
from spine.statement import Statement, Tx, insert_for

LOG = Ledger("project_log", "the project log")

SCHEMA = LOG.schema + """
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    coordinator TEXT NOT NULL,
    limit_amount INTEGER NOT NULL,
    limit_unit TEXT NOT NULL,
    started_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS project_cases (
    project TEXT NOT NULL,
    case_id TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (project, case_id)
);
CREATE INDEX IF NOT EXISTS project_cases_by_case ON project_cases (case_id);
"""
PROJECT_TABLES = MetaData()
PROJECTS = Table(
    "projects", PROJECT_TABLES,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("coordinator", Text, nullable=False),
    Column("limit_amount", BigInteger, nullable=False),
    Column("limit_unit", Text, nullable=False),
    Column("started_at", BigInteger),
    Column("created_at", BigInteger, nullable=False),
)
PROJECT_CASES = Table(
    "project_cases", PROJECT_TABLES,
    Column("project", Text, primary_key=True),
    Column("case_id", Text, primary_key=True),
    Column("added_at", BigInteger, nullable=False),
    Index("project_cases_by_case", "case_id"),
)
"""`SCHEMA` in SQLAlchemy Core (made on PostgreSQL by migration 0010)."""
_P, _PC = PROJECTS.c, PROJECT_CASES.c
PROJECT_ROW = Statement(lambda _dialect: select(_P.name, _P.coordinator, _P.limit_amount, _P.limit_unit,
                                                _P.started_at).where(_P.id == bindparam("project")))
_NEW = Statement(lambda _dialect: PROJECTS.insert().values(
    {name: bindparam(name) for name in ("id", "name", "coordinator", "limit_amount", "limit_unit",
                                        "started_at", "created_at")}))
_MEMBER = Statement(lambda _dialect: select(1).where(_PC.project == bindparam("project"),
                                                     _PC.case_id == bindparam("case_id")))
_JOINED = Statement(lambda dialect: insert_for(dialect, PROJECT_CASES).values(
    project=bindparam("project"), case_id=bindparam("case_id"), added_at=bindparam("added_at")
).on_conflict_do_nothing(index_elements=["project", "case_id"]))
_MEMBERS = Statement(lambda _dialect: select(_PC.case_id).where(_PC.project == bindparam("project")).order_by(
    _PC.added_at, _PC.case_id))
_IDS = Statement(lambda _dialect: select(_P.id).order_by(_P.id))

PROJECT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,40}$")

CaseRows = Callable[[list[str]], list[MemberCase]]
"""case ids -> those the case store has, as its last tick judged them."""


class ProjectError(ValueError):
    """A project or a step that cannot be taken; the message says why."""


class UnknownProject(LookupError):
    pass


class UnknownCase(LookupError):
    """A case the case store does not have cannot join a project."""


@dataclass(frozen=True)
class NewProject:
    id: str
    name: str
    coordinator: str
    limit: int
    limit_unit: LimitUnit = LimitUnit.WORKDAYS
    started_at: Instant | None = None
    """When its own clock starts (s); None: at its first case's acceptance."""
    cases: tuple[str, ...] = ()


class ProjectDesk:
    def __init__(self, store: SupervisionStore, cases: CaseRows, *, calendar: WorkCalendar, ladder: Ladder,
                 clock: Callable[[], int]) -> None:
        self.store = store
        self.cases = cases
        self.calendar = calendar
        self.ladder = ladder
        self.clock = clock
        """Wall clock, ms."""
        store.ensure(SCHEMA)

    # --- the office's steps ----------------------------------------------------------------------

    def create(self, new: NewProject, actor: str) -> None:
        if not PROJECT_ID.match(new.id):
            raise ProjectError(f"project id {new.id!r}: letters, digits, '.', '_' or '-', 3 to 41 of them")
        Limit(new.limit, new.limit_unit)  # refuses a limit below one
        self._known(list(new.cases))
        now = self.clock()
        with self.store.transaction() as tx:
            # The log first (`Ledger.serialise`): two processes creating one project take turns,
            # and the second finds it made.
            LOG.serialise(tx)
            if PROJECT_ROW.run(tx, {"project": new.id}).fetchone():
                raise ProjectError(f"project {new.id} already exists")
            LOG.append(tx, new.id, "project.created", now, actor, {
                "name": new.name, "coordinator": new.coordinator, "limit": new.limit,
                "limit_unit": new.limit_unit.value,
                "started_at": format_instant(new.started_at) if new.started_at is not None else None})
            _NEW.run(tx, {"id": new.id, "name": new.name, "coordinator": new.coordinator,
                          "limit_amount": new.limit, "limit_unit": new.limit_unit.value,
                          "started_at": new.started_at, "created_at": now})
            for case_id in new.cases:
                self._add_in(tx, new.id, case_id, actor, now)

    def add_case(self, project: str, case_id: str, actor: str) -> None:
        self._known([case_id])
        with self.store.transaction() as tx:
            LOG.serialise(tx)
            self._row(tx, project)
            if _MEMBER.run(tx, {"project": project, "case_id": case_id}).fetchone():
                raise ProjectError(f"case {case_id} is already in project {project}")
            self._add_in(tx, project, case_id, actor, self.clock())

    def _add_in(self, tx: Tx, project: str, case_id: str, actor: str, now: int) -> None:
        LOG.append(tx, project, "project.case_added", now, actor, {"case_id": case_id})
        _JOINED.run(tx, {"project": project, "case_id": case_id, "added_at": now})

    def _known(self, case_ids: list[str]) -> None:
        found = {m.case_id for m in self.cases(case_ids)} if case_ids else set()
        missing = [c for c in case_ids if c not in found]
        if missing:
            raise UnknownCase(f"{', '.join(missing)}: enter a case before it joins a project")

    # --- reading -------------------------------------------------------------------------------

    def ids(self) -> list[str]:
        return [row[0] for row in self.store.rows(_IDS)]

    def get(self, project: str) -> dict[str, Any]:
        with self.store.transaction() as tx:
            row = self._row(tx, project)
            case_ids = [r[0] for r in _MEMBERS.run(tx, {"project": project}).fetchall()]
        members = self.cases(case_ids) if case_ids else []
        name, coordinator, amount, unit, started_at = row
        limit = Limit(amount, LimitUnit(unit))
        light = project_light(members, limit, started_at, self.clock() // 1000, self.calendar, self.ladder)
        return _view(project, name, coordinator, limit, light, members)

    def all(self) -> list[dict[str, Any]]:
        """Every project, the worst light first."""
        found = [self.get(project) for project in self.ids()]
        return sorted(found, key=lambda p: (-severity(p["stage"]), p["id"]))

    def history(self, project: str) -> list[dict[str, Any]]:
        with self.store.reading() as read:
            steps = LOG.steps(read, project)
        if not steps:
            raise UnknownProject(project)
        return [{"seq": s.seq, "type": s.type, "at": format_instant(s.at // 1000), "actor": s.actor,
                 "body": s.body} for s in steps]

    def verify(self) -> dict[str, Any]:
        """Every chain check answers alike: {ok, checked, head: {seq, hash}, first_bad, problem}."""
        with self.store.reading() as read:
            return LOG.verify(read).as_dict()

    @staticmethod
    def _row(tx: Tx, project: str) -> tuple[Any, ...]:
        row = PROJECT_ROW.run(tx, {"project": project}).fetchone()
        if row is None:
            raise UnknownProject(project)
        return tuple(row)


def _day(day: int | None) -> str | None:
    return format_day(day) if day is not None else None


def _member(m: MemberCase) -> dict[str, Any]:
    return {"case_id": m.case_id, "hall": m.hall, "unit": m.unit, "matter": m.matter, "officer": m.officer,
            "stage": m.stage, "due": _day(m.due_day)}


def _view(project: str, name: str, coordinator: str, limit: Limit, light: ProjectLight,
          members: list[MemberCase]) -> dict[str, Any]:
    return {
        "id": project, "name": name, "coordinator": coordinator, "limit": limit.amount,
        "limit_unit": limit.unit.value,
        "started_at": format_instant(light.started_at) if light.started_at is not None else None,
        "stage": light.stage, "own_stage": light.own_stage, "own_due": _day(light.own_due_day),
        "slowest": _member(light.slowest) if light.slowest is not None else None,
        "units": sorted({m.unit for m in members}), "counts": light.counts,
        "cases": [_member(m) for m in sorted(members, key=lambda m: (-severity(m.stage), m.case_id))],
    }

