"""An import's chunk writes its log records, keys and index rows together at its end (one statement
per table on PostgreSQL): what it stores reads, verifies and is found by phone as if entered one by
one, on both databases."""

from __future__ import annotations

import json

from central.cases.engine import Engine
from central.cases.importer import import_lines
from central.cases.timebase import parse_instant
from tests.cases.conftest import CONTACT_PHONE, SettableClock, entry

AT = parse_instant("2026-11-27T18:00")


def _lines() -> list[str]:
    suspended = {"type": "case.suspended", "body": {
        "case_id": "IB-0001", "by": "李四", "at": "2026-11-24T10:00", "reason": "hearing",
        "note": "申请人改用 139 1234 5678 联系"}}
    resumed = {"type": "case.resumed", "body": {"case_id": "IB-0001", "by": "李四",
                                                "at": "2026-11-25T10:00"}}
    return [json.dumps(line, ensure_ascii=False) for line in (
        entry("IB-0001"),
        entry("IB-0001"),                        # resent in the same chunk: a duplicate
        entry("IB-0001", matter="别的事项"),       # another case under the id: refused
        suspended, resumed, suspended,           # the suspension resent: stored once
        entry("IB-0002", contact_phone="13700001111"),
    )]


def test_an_imported_chunk_reads_verifies_and_is_found_by_phone(
        engine: Engine, clock: SettableClock) -> None:
    clock.set("2026-11-28T09:00")
    before = engine.store.head().seq
    report = import_lines(engine.store, _lines(), at=AT)
    assert (report.stored, report.duplicates) == (4, 2)
    assert [problem.line for problem in report.rejected] == [3]
    store = engine.store
    assert store.verify().ok and store.head().seq == before + 4 + report.issued
    assert store.contact_phone("IB-0001") == CONTACT_PHONE
    assert store.contact_phone("IB-0002") == "13700001111"
    assert store.personal.cases_holding(CONTACT_PHONE) == ["IB-0001"]
    assert store.personal.cases_holding("13912345678") == ["IB-0001"]  # the note's number
    assert store.personal.cases_holding("13700001111") == ["IB-0002"]
    assert store.personal.cases_holding("13900001111") == []  # the officer's phone: not indexed
    assert [e.kind for e in store.history("IB-0001")][:3] == [
        "case.accepted", "case.suspended", "case.resumed"]

    again = import_lines(engine.store, _lines(), at=AT)  # keys found now, nothing new
    assert (again.stored, again.duplicates) == (0, 6)
    assert store.head().seq == before + 4 + report.issued and store.verify().ok
