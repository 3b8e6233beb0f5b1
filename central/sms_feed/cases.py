"""The case log as the SMS feed reads it: acceptances, suspensions, resumptions, completions and
the engine's reminders, from the case store (`cases.sqlite`, or central's PostgreSQL database),
in log order.

Reads go through a connection of their own (a read-only one of the SQLite file, WAL; a pool's
on PostgreSQL): only committed records, never waiting for a tick. The clear contact phone and
the due day come from the case store itself, taken alone for a moment.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, func, literal, select

from central.cases import casefile as cf
from central.cases.store import CaseStore, UnknownCase
from central.cases.tables import CASE_EVENTS
from central.cases.timebase import format_day, format_instant
from central.sms_feed.facts import Chunk, Fact
from contract.privacy import ERASED
from spine.engines import open_engine
from spine.statement import Statement
from spine.storeurl import StoreUrl

TOLD = (cf.ACCEPTED, cf.SUSPENDED, cf.RESUMED, cf.COMPLETED, cf.REMINDER)
_STAND_IN = {"contact_name": "-", "officer_phone": "10000000000"}
"""A notice of acceptance reads the case's number, matter, limit, acceptance day and contact
phone; the other personal fields stay sealed, and these stand in for them to pass the schema."""

Alone = Callable[[], AbstractContextManager[CaseStore]]
_E = CASE_EVENTS.c
_HEAD = Statement(lambda _dialect: select(func.max(_E.seq)))
_TOLD_AFTER = Statement(lambda _dialect: select(_E.seq, _E.case_id, _E.kind, _E.at, _E.actor, _E.body).where(
    _E.seq > bindparam("after"), _E.seq <= bindparam("head"),
    _E.kind.in_([literal(kind) for kind in TOLD])).order_by(_E.seq).limit(bindparam("limit")))


class CaseFacts:
    name = "cases"

    def __init__(self, where: Path | StoreUrl, alone: Alone) -> None:
        self.alone = alone
        url = where if isinstance(where, StoreUrl) else StoreUrl.sqlite_file(where)
        self._db: sqlite3.Connection | None = None
        self._pool: Engine | None = None
        if url.is_sqlite:
            self._db = sqlite3.connect(f"file:{url.path}?mode=ro", uri=True, check_same_thread=False,
                                       timeout=30)
        else:
            self._pool = open_engine(url)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
        if self._pool is not None:
            self._pool.dispose()

    def _rows(self, statement: Statement, params: Mapping[str, Any] | None = None) -> list[Any]:
        if self._db is not None:
            return list(statement.run(self._db, params).fetchall())
        assert self._pool is not None
        with self._pool.connect() as connection:
            return list(statement.run(connection, params).fetchall())

    def head(self) -> int:
        return int(self._rows(_HEAD)[0][0] or 0)

    def after(self, position: int, limit: int) -> Chunk:
        head = self.head()
        rows = self._rows(_TOLD_AFTER, {"after": position, "head": head, "limit": limit})
        facts = [self._fact(*row) for row in rows]
        upto = rows[-1][0] if len(rows) == limit else head
        return Chunk(facts, max(upto, position))

    def _fact(self, seq: int, case_id: str, kind: str, at: int | None, actor: str, text: str) -> Fact:
        body: dict[str, Any] = json.loads(text)
        happened = (at or 0) * 1000
        fact_id = f"case:{seq}"
        if kind == cf.ACCEPTED:
            phone, due_day = self._contact_and_due_day(case_id)
            told = None if phone is None else accepted_body(body, actor, phone)
            return Fact(seq, fact_id, kind, told, happened, due_day)
        if kind == cf.REMINDER:
            return Fact(seq, fact_id, kind, body, happened)
        told = {"case_id": case_id, "by": actor, "at": format_instant(at or 0)}
        if kind == cf.SUSPENDED:
            told["reason"] = body.get("reason", "")  # the note may hold personal data: not told
        return Fact(seq, fact_id, kind, told, happened)

    def _contact_and_due_day(self, case_id: str) -> tuple[str | None, str | None]:
        with self.alone() as store:
            try:
                phone = store.contact_phone(case_id)
                due = store.countdown(case_id).due_day
            except UnknownCase:
                return None, None
        if not phone or phone == ERASED:
            return None, None
        return phone, format_day(due) if due is not None else None


def accepted_body(logged: Mapping[str, Any], actor: str, contact_phone: str) -> dict[str, Any]:
    """A `case.accepted` body, as the contract has it, from its log record."""
    body = {name: value for name, value in logged.items() if name != "warnings"}
    return {**body, **_STAND_IN, "by": actor, "contact_phone": contact_phone}
