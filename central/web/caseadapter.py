"""The case engine (`central/cases/`) seen through the port the API and the big screen read.

The engine's store keeps one connection for its writes; the tick and
the per-case reads that go through the store share a lock here, so an HTTP
thread never reads inside the engine's open transaction. Listings and
statistics read through connections of their own, which see the last
committed state and never wait for a tick: a read-only connection of the
SQLite file (WAL), or connections from a pool on PostgreSQL.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import text

from central.cases.engine import Engine
from central.cases.sources import LIVE
from central.cases.stats import statistics, where_text
from central.cases.store import CaseStore, UnknownCase
from central.cases.views import Recorded
from central.reads import built, rows
from central.web.caseport import CaseFilter, Escalation
from central.web.timefmt import iso_s
from central.where import Where
from spine.engines import open_engine
from spine.statement import Tx
from spine.storeurl import StoreUrl

URGENCY = ("supervision_letter", "red_card", "yellow_card", "red_light", "yellow_light", "uncertain",
           "suspended", "blue", "completed")
_ORDER = "CASE stage " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(URGENCY)) + " END"


Watermarks = Callable[[], Mapping[str, int]]
"""The latest watermark of each source measured outside the case store (the halls' streams)."""


class EngineCases:
    def __init__(self, engine: Engine, path: Path | StoreUrl,
                 watermarks: Watermarks | None = None) -> None:
        self.engine = engine
        self.watermarks = watermarks
        self.lock = threading.Lock()
        url = path if isinstance(path, StoreUrl) else StoreUrl.sqlite_file(path)
        self._reader: sqlite3.Connection | None = None
        self._pool: SqlEngine | None = None
        if url.is_sqlite:
            self._reader = sqlite3.connect(f"file:{url.path}?mode=ro", uri=True,
                                           check_same_thread=False, timeout=30)
        else:
            self._pool = open_engine(url)
        self._read_lock = threading.Lock()

    @contextmanager
    def alone(self) -> Iterator[CaseStore]:
        """The case store for one caller at a time: its connection is the engine's too."""
        with self.lock:
            yield self.engine.store

    def record(self, kind: str, body: Mapping[str, Any], source: str = LIVE) -> Recorded:
        """A case fact a hall sent as an event (`CaseStore.record`), with the store to itself."""
        with self.alone() as store:
            return store.record(kind, body, source=source)

    def scope(self, case_id: str) -> tuple[str, str] | None:
        """The hall and unit of a stored case (what an author's authority is checked against)."""
        found = self._read("SELECT hall, unit FROM cases WHERE case_id = :case_id",
                           {"case_id": case_id})
        return (str(found[0][0]), str(found[0][1])) if found else None

    def close(self) -> None:
        with self._read_lock:
            if self._reader is not None:
                self._reader.close()
            if self._pool is not None:
                self._pool.dispose()

    @contextmanager
    def _reading(self) -> Iterator[Tx]:
        """A connection that sees the last commit: the read-only file, or one from the pool."""
        if self._pool is not None:
            with self._pool.connect() as connection:
                yield connection
            return
        assert self._reader is not None
        with self._read_lock:
            yield self._reader

    def _read(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Rows of SQL both databases speak, with named parameters (`:name`)."""
        with self._reading() as connection:
            return rows(connection, built(text(sql)), params)

    # --- listings ------------------------------------------------------------

    def search(self, query: CaseFilter) -> list[dict[str, Any]]:
        narrow, params = where_text(_where(query))
        listed = self._read(
            "SELECT c.file, c.stage, c.due_day, c.completed_at, c.days_taken, c.on_time FROM cases c"
            f" WHERE 1 = 1{narrow} ORDER BY {_ORDER}, c.due_day, c.case_id LIMIT :limit OFFSET :offset",
            {**params, "limit": query.limit, "offset": query.offset},
        )
        found = [_row(json.loads(file), stage, due_day, completed_at, days_taken, on_time)
                 for file, stage, due_day, completed_at, days_taken, on_time in listed]
        # The projection keeps personal data sealed; the page shows it masked (one key read).
        personal = self.engine.store.personal
        with self._reading() as connection:
            reader = personal.reader(connection)
            reader.prefetch(found)
            return [personal.masked_fields(row["case_id"], row, reader) for row in found]

    def count(self, query: CaseFilter) -> int:
        narrow, params = where_text(_where(query))
        return int(self._read(f"SELECT count(*) FROM cases c WHERE 1 = 1{narrow}", params)[0][0])

    def statistics(self, group_by: str | None, query: CaseFilter, since: int | None = None,
                   until: int | None = None) -> list[dict[str, Any]]:
        with self._reading() as connection:
            figures = statistics(connection, by=group_by, since=since, until=until,
                                 cases=_where(query), now=self.engine.store.now())
        return [f.as_row() for f in figures]

    # --- one case ------------------------------------------------------------

    def history(self, case_id: str) -> dict[str, Any] | None:
        store = self.engine.store
        with self.lock:
            try:
                view = store.case(case_id)
            except UnknownCase:
                return None
            events = [e.model_dump(mode="json") for e in store.history(case_id)]
            problem = _check_links(store, [e["seq"] for e in events])
        case = view.model_dump(mode="json")
        case["due"] = case.pop("due_day")
        return {"case": case, "events": events, "verified": problem is None, "problem": problem}

    # --- the countdown -------------------------------------------------------

    def tick(self, now_s: int) -> list[Escalation]:
        # Read before taking the lock: the halls' watermarks are in the event store, whose
        # lock the ingest holds while it hands a hall's case facts to this store.
        watermarks = self.watermarks() if self.watermarks is not None else None
        with self.lock:
            report = self.engine.tick(now_s, watermarks=watermarks)
        if not report.changes:
            return []
        places = self._places([change.case_id for change in report.changes])
        return [
            Escalation(change.case_id, change.after.value, *places.get(change.case_id, ("?", "?")),
                       report.now, change.before.value if change.before else None)
            for change in report.changes
        ]

    def _places(self, case_ids: list[str]) -> dict[str, tuple[str, str]]:
        places: dict[str, tuple[str, str]] = {}
        for start in range(0, len(case_ids), 500):
            chunk = case_ids[start:start + 500]
            marks = ", ".join(f":c{i}" for i in range(len(chunk)))
            for case_id, hall, unit in self._read(
                f"SELECT case_id, hall, unit FROM cases WHERE case_id IN ({marks})",
                {f"c{i}": case_id for i, case_id in enumerate(chunk)}
            ):
                places[case_id] = (hall, unit)
        return places


def _where(query: CaseFilter) -> Where:
    return (Where().equals("c.hall", query.hall).equals("c.unit", query.unit)
            .equals("c.matter", query.matter).equals("c.officer", query.officer)
            .equals("c.stage", query.stage).holds("c.confirmed_at IS NULL", when=query.open_only))


def _row(file: dict[str, Any], stage: str, due_day: int | None, completed_at: int | None,
         days_taken: int | None, on_time: int | None) -> dict[str, Any]:
    from central.cases.timebase import format_day

    limit = file.get("limit") or {}
    return {
        "case_id": file["case_id"], "hall": file["hall"], "unit": file["unit"],
        "window": file.get("window"), "matter": file["matter"],
        "project_category": file.get("project_category", ""),
        "project_attribute": file.get("project_attribute", ""),
        "contact_name": file.get("contact_name", ""), "contact_phone": file.get("contact_phone", ""),
        "officer_name": file.get("officer_name", ""), "officer_phone": file.get("officer_phone", ""),
        "applied_at": iso_s(file.get("applied_at")), "accepted_at": iso_s(file["accepted_at"]),
        "limit": limit.get("amount", 0), "limit_unit": limit.get("unit", "workdays"),
        "due": format_day(due_day) if due_day is not None else None, "stage": stage,
        "completed_at": iso_s(completed_at), "days_taken": days_taken,
        "on_time": None if on_time is None else bool(on_time),
    }


def _check_links(store: CaseStore, seqs: list[int]) -> str | None:
    """Check this case's records: each hash matches its content and links to the record before it."""
    for seq in seqs:
        record = store.log.get(seq)
        if record is None:
            return f"record {seq} is missing"
        if record.link.expected_hash() != record.hash:
            return f"record {seq} was changed after it was written"
        before = store.log.get(seq - 1) if seq > 1 else None
        if seq > 1 and (before is None or before.hash != record.prev_hash):
            return f"record {seq} does not link to record {seq - 1}"
    return None
