"""Priority at the hall for a major project's applicants: green-channel passes the kiosks honour.

A pass is an appointment code of one hall, service and day, issued to a
project's applicant; typed at the kiosk it prints a ticket called before
ordinary ones (the kiosk's appointment lane, `gateway/queue/rules.py`). No
personal data travels or is kept: the hall needs only the code. The day's
passes of a hall go to its gateway as the day's `queue.appointments`.

That command replaces the hall's list for the day: while central has no other
source of appointments, these are the list; once online booking sends its
own, both must go out as one list (see docs/supervision.md).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Table, Text, bindparam, distinct, select

from central.projects.desk import LOG, PROJECT_ROW, PROJECT_TABLES, ProjectError, UnknownProject
from central.supervision_store import SupervisionStore
from contract.commands.queue import Booking
from spine.statement import Statement, Tx

SCHEMA = """
CREATE TABLE IF NOT EXISTS project_passes (
    code TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    hall TEXT NOT NULL,
    service TEXT NOT NULL,
    day TEXT NOT NULL,
    window TEXT,
    issued_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS project_passes_by_day ON project_passes (hall, day);
"""
PROJECT_PASSES = Table(
    "project_passes", PROJECT_TABLES,
    Column("code", Text, primary_key=True),
    Column("project", Text, nullable=False),
    Column("hall", Text, nullable=False),
    Column("service", Text, nullable=False),
    Column("day", Text, nullable=False),
    Column("window", Text),
    Column("issued_at", BigInteger, nullable=False),
    Index("project_passes_by_day", "hall", "day"),
)
_PP = PROJECT_PASSES.c
_ISSUED = Statement(lambda _dialect: PROJECT_PASSES.insert().values(
    {name: bindparam(name) for name in ("code", "project", "hall", "service", "day", "window", "issued_at")}))
_TAKEN = Statement(lambda _dialect: select(1).where(_PP.code == bindparam("code")))
_OF_DAY = Statement(lambda _dialect: select(_PP.code, _PP.service, _PP.window).where(
    _PP.hall == bindparam("hall"), _PP.day == bindparam("day")).order_by(_PP.issued_at, _PP.code))
_DAYS_FROM = Statement(lambda _dialect: select(distinct(_PP.day)).where(
    _PP.hall == bindparam("hall"), _PP.day >= bindparam("day")).order_by(_PP.day))
_OF_PROJECT = Statement(lambda _dialect: select(_PP.code, _PP.hall, _PP.service, _PP.day, _PP.window).where(
    _PP.project == bindparam("project")).order_by(_PP.day, _PP.issued_at))

DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SERVICE = re.compile(r"^[A-Z]{1,2}$")

AnnounceDay = Callable[[str, str], None]
"""(hall, day) -> the hall's day list goes out again (`central.appointments.HallAppointments`)."""


class GreenChannel:
    def __init__(self, store: SupervisionStore, announce: AnnounceDay, *, code_length: int = 6,
                 clock: Callable[[], int]) -> None:
        self.store = store
        self.announce = announce
        self.code_length = code_length
        """Digits of a code: the kiosks' keypad takes codes of this length (their `code_length`)."""
        self.clock = clock
        store.ensure(SCHEMA)

    def issue(self, project: str, *, hall: str, service: str, day: str, window: str | None,
              actor: str) -> str:
        """A pass for one applicant of `project`; the hall's day list goes out at once."""
        if not DAY.match(day) or not SERVICE.match(service):
            raise ProjectError("a pass needs a day (YYYY-MM-DD) and a service prefix (A, B, ...)")
        now = self.clock()
        with self.store.transaction() as tx:
            LOG.serialise(tx)  # two processes issuing at once take turns, so a code is never given twice
            if PROJECT_ROW.run(tx, {"project": project}).fetchone() is None:
                raise UnknownProject(project)
            code = self._new_code(tx)
            LOG.append(tx, project, "project.pass_issued", now, actor,
                       {"code": code, "hall": hall, "service": service, "day": day, "window": window})
            _ISSUED.run(tx, {"code": code, "project": project, "hall": hall, "service": service, "day": day,
                             "window": window, "issued_at": now})
        self.announce(hall, day)
        return code

    def day_codes(self, hall: str, day: str) -> list[Booking]:
        """The passes' part of the hall's day list (`central.appointments.CodeSource`)."""
        return [Booking(code=code, service=service, window=window) for code, service, window in
                self.store.rows(_OF_DAY, {"hall": hall, "day": day})]

    def days_from(self, hall: str, day: str) -> list[str]:
        return [row[0] for row in self.store.rows(_DAYS_FROM, {"hall": hall, "day": day})]

    def passes(self, project: str) -> list[dict[str, Any]]:
        return [{"code": code, "hall": hall, "service": service, "day": day, "window": window}
                for code, hall, service, day, window in self.store.rows(_OF_PROJECT, {"project": project})]

    def _new_code(self, tx: Tx) -> str:
        while True:
            code = f"{secrets.randbelow(10 ** self.code_length):0{self.code_length}d}"
            if _TAKEN.run(tx, {"code": code}).fetchone() is None:
                return code
