"""The open counts (`central.cases.opencounts`) are what counting the open cases gives, on both
databases: as cases arrive, an import comes, ticks turn their lights (several cases in one
statement on PostgreSQL), a correction moves a case to another hall and unit, completions are
confirmed and a confirmation voided, rows are updated and deleted straight in SQL; and when the
counts are first made in a store that already holds cases (SQLite's first open, revision 0013)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from central.cases.engine import Engine
from central.cases.importer import import_lines
from central.cases.opencounts import SQLITE_TRIGGER_NAMES
from central.cases.timebase import parse_instant as at
from central.web.screen.sqltally import SqlTally
from central.web.screen.tally import Place
from spine.storeurl import StoreUrl
from tests.cases.conftest import SettableClock, entry, run_sql
from tests.central.stores import migrated_again

COUNTED = "SELECT stage, hall, unit, n FROM case_open_counts WHERE n <> 0 ORDER BY 1, 2, 3"
BY_CASES = ("SELECT stage, hall, unit, count(*) FROM cases WHERE confirmed_at IS NULL"
            " GROUP BY stage, hall, unit ORDER BY 1, 2, 3")


def _same(engine: Engine, when: str) -> list[tuple[str, str, str, int]]:
    """The counts as the cases count them, none below zero; the counts returned."""
    counted = [tuple(row) for row in run_sql(engine, COUNTED)]
    assert counted == [tuple(row) for row in run_sql(engine, BY_CASES)], when
    assert run_sql(engine, "SELECT count(*) FROM case_open_counts WHERE n < 0") == [(0,)], when
    return counted  # type: ignore[return-value]


def _stages(engine: Engine) -> dict[str, str]:
    return dict(run_sql(engine, "SELECT case_id, stage FROM cases"))


def _history(engine: Engine, clock: SettableClock) -> None:
    """A scripted life of a few cases, the counts compared with the cases after every step."""
    store = engine.store
    accepted = {case_id: store.submit(entry(case_id, **place)).seq for case_id, place in (
        ("OC-1", {}), ("OC-2", {"unit": "民政局"}), ("OC-3", {"hall": "hall-east"}),
        ("OC-4", {"limit": 2}), ("OC-5", {"limit": 1, "unit": "民政局"}))}
    assert len(_same(engine, "new cases")) == 4  # OC-5 (one day) is yellow at once
    clock.set("2026-11-23T18:00")
    lines = [json.dumps(entry(f"IM-{i}", hall="hall-north", accepted_at="2026-11-20T10:00",
                              applied_at="2026-11-20T09:00", limit=1 + i % 3), ensure_ascii=False)
             for i in range(6)]
    assert import_lines(store, lines, at=at("2026-11-23T18:00")).stored == 6
    _same(engine, "an import")

    seen: set[str] = set()
    for day in ("2026-11-24", "2026-11-25", "2026-11-27", "2026-12-01", "2026-12-08", "2026-12-22"):
        clock.set(f"{day}T09:00")
        report = engine.tick(at(f"{day}T09:00"))
        _same(engine, f"the tick of {day} ({len(report.changes)} lights changed)")
        seen |= set(_stages(engine).values())
    # Every light of the ladder was passed through, by several cases a tick.
    assert {"blue", "yellow_light", "red_light", "yellow_card", "red_card",
            "supervision_letter"} <= seen

    clock.set("2026-12-22T10:00")
    store.correct({"case_id": "OC-1", "by": "supervisor-wang", "corrects": accepted["OC-1"],
                   "changes": {"hall": "hall-west", "unit": "市场监管局"}, "reason": "wrong desk"})
    assert ("hall-west", "市场监管局") in {(hall, unit) for _, hall, unit, _ in _same(
        engine, "a correction moving a case's hall and unit")}

    clock.set("2026-12-22T12:00")
    store.complete({"case_id": "OC-2", "by": "李四", "at": "2026-12-22T10:00"})
    _same(engine, "a completion not yet confirmed: still open")
    confirmed = store.confirm({"case_id": "OC-2", "by": "李四", "at": "2026-12-22T10:30"})
    store.complete({"case_id": "OC-3", "by": "李四", "at": "2026-12-22T10:10"})
    store.confirm({"case_id": "OC-3", "by": "李四", "at": "2026-12-22T10:40"})
    assert "OC-2" not in [r[0] for r in run_sql(engine, "SELECT case_id FROM cases"
                                                " WHERE confirmed_at IS NULL")]
    _same(engine, "completions confirmed")
    clock.set("2026-12-22T13:00")
    store.correct({"case_id": "OC-2", "by": "李四", "corrects": confirmed.seq,
                   "changes": {"void": True}, "reason": "confirmed the wrong case"})
    _same(engine, "a confirmation voided: open again")


def _straight_sql(engine: Engine) -> None:
    """Statements no store method makes, each moving several cases at once: a swap of two
    places that nets out, a case leaving the count and a case deleted."""
    run_sql(engine, "UPDATE cases SET hall = CASE hall WHEN 'hall-north' THEN 'hall-east'"
                    " ELSE 'hall-north' END WHERE hall IN ('hall-north', 'hall-east')")
    _same(engine, "halls swapped in one statement")
    run_sql(engine, "UPDATE cases SET stage = 'red_card' WHERE case_id IN ('IM-0', 'IM-1', 'OC-4')")
    _same(engine, "stages set in one statement")
    run_sql(engine, "UPDATE cases SET matter = 'x'")
    _same(engine, "an update of nothing counted")
    run_sql(engine, "DELETE FROM cases WHERE case_id IN ('IM-2', 'OC-3')")  # one open, one not
    _same(engine, "a delete")


def test_the_open_counts_follow_every_change_of_the_cases(engine: Engine, clock: SettableClock) -> None:
    _history(engine, clock)
    _straight_sql(engine)
    open_cases = sum(n for *_, n in _same(engine, "the end"))
    assert open_cases == 9  # 11 cases, OC-3 confirmed and deleted, IM-2 deleted


def test_the_screen_reads_the_counts_as_counting_the_cases_gives(
        engine: Engine, clock: SettableClock, case_store: Path | StoreUrl) -> None:
    _history(engine, clock)
    tally = SqlTally(case_store)
    try:
        for place in (Place(), Place(hall="hall-north"), Place(unit="民政局"),
                      Place(hall="hall-centre", unit="自然资源局"), Place(hall="nowhere")):
            by_cases = [(hall, unit, stage, n) for stage, hall, unit, n in run_sql(engine, BY_CASES)
                        if place.hall in (None, hall) and place.unit in (None, unit)]
            assert sorted((c.hall, c.unit, c.stage, c.cases) for c in tally.open_places(place)) \
                == sorted(by_cases), place
        # A count moved down to nothing stays in the table, and the screen skips it.
        assert run_sql(engine, "SELECT count(*) FROM case_open_counts WHERE n = 0")[0][0] > 0
        assert all(count.cases > 0 for count in tally.open_places(Place()))
    finally:
        tally.close()


def _drop_counts(engine: Engine, sqlite: bool) -> None:
    if sqlite:
        for trigger in SQLITE_TRIGGER_NAMES:
            run_sql(engine, f"DROP TRIGGER {trigger}")
        run_sql(engine, "DROP TABLE case_open_counts")


def test_counts_made_in_a_store_already_holding_cases_count_them(
        case_store: Path | StoreUrl, clock: SettableClock) -> None:
    engine = Engine.open(case_store, clock=clock)
    try:
        _history(engine, clock)
        before = run_sql(engine, BY_CASES)
        _drop_counts(engine, sqlite=isinstance(case_store, Path))
    finally:
        engine.close()
    if isinstance(case_store, StoreUrl):
        # Revision 0013 on a populated database: down to 0012, and up again.
        migrated_again(case_store, "0012", "case_open_counts")
    engine = Engine.open(case_store, clock=clock)
    try:
        assert _same(engine, "counted at the first open or by the revision") == [
            tuple(row) for row in before]
        engine.tick(at("2027-01-20T09:00"))  # and kept from there on
        engine.store.submit(entry("OC-9", hall="hall-south"))
        _same(engine, "after the counts were made")
    finally:
        engine.close()


@pytest.mark.parametrize("case_store", ["postgresql"], indirect=True)
def test_a_tick_writes_its_batch_of_lights_in_one_statement_and_counts_it_once(
        engine: Engine, clock: SettableClock) -> None:
    """On PostgreSQL a batch's lights are one UPDATE (`central.cases.bulk`): the statement
    trigger sees every case of it together."""
    for i in range(8):
        engine.store.submit(entry(f"BT-{i}", unit=("民政局", "自然资源局")[i % 2]))
    statements: list[str] = []
    connection: Any = engine.store.connection

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE CASES"):
            statements.append(statement)

    event.listen(connection, "before_cursor_execute", seen)
    try:
        report = engine.tick(at("2026-12-08T09:00"))
    finally:
        event.remove(connection, "before_cursor_execute", seen)
    assert len(report.changes) >= 8
    assert len(statements) == 1 and "json_to_recordset" in statements[0], statements
    # All eight climbed from blue to the letter in that one statement: counted out and in once.
    assert _same(engine, "a batch tick") == [
        ("supervision_letter", "hall-centre", unit, 4) for unit in ("民政局", "自然资源局")]
    assert run_sql(engine, "SELECT stage, n FROM case_open_counts WHERE stage = 'blue'") == [
        ("blue", 0), ("blue", 0)]
