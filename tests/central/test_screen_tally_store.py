"""The big screen's SQL counts over the case store, on its SQLite file and on PostgreSQL (where central
keeps its cases when its `[database]` is there): the same counts, alarms and figures as the board's
rows counted one by one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central.cases.engine import Engine
from central.cases.timebase import parse_instant as at
from central.web.caseadapter import EngineCases
from central.web.screen.sqltally import SqlTally
from central.web.screen.tally import BoardTally, Place
from spine.storeurl import StoreUrl
from tests.cases.conftest import SettableClock, entry


@pytest.fixture
def engine(case_store: Path | StoreUrl) -> Iterator[Engine]:
    engine = Engine.open(case_store, clock=SettableClock("2026-11-23T10:05"))
    engine.store.submit(entry("JQ-1"), now=at("2026-11-23T10:05"))
    engine.store.submit(entry("JQ-2", hall="hall-east", unit="市场监管局"), now=at("2026-11-23T10:06"))
    engine.store.submit(entry("JQ-3", accepted_at="2026-12-01T10:00", applied_at="2026-12-01T09:00"),
                        now=at("2026-12-01T10:05"))
    engine.tick(at("2026-12-05T09:00"))
    yield engine
    engine.close()


def test_the_sql_counts_are_the_boards_on_either_database(
        engine: Engine, case_store: Path | StoreUrl) -> None:
    tally = SqlTally(case_store)
    board = BoardTally(EngineCases(engine, case_store))
    try:
        assert sum(count.cases for count in tally.open_places(Place())) == 3
        assert sorted(tally.open_places(Place())) == sorted(board.open_places(Place()))
        assert sorted(tally.open_places(Place(hall="hall-east"))) == sorted(
            board.open_places(Place(hall="hall-east")))

        def alarms(counted: Any, place: Place) -> list[str]:
            return sorted(a.case_id for a in counted.alarm_cases(place, 50))

        assert alarms(tally, Place()) == alarms(board, Place()) == ["JQ-1", "JQ-2"]
        assert alarms(tally, Place(unit="市场监管局")) == ["JQ-2"]

        def figures(counted: Any) -> list[tuple[str, str, int, int, int]]:
            return [(f.hall, f.unit, f.received, f.completed, f.on_time)
                    for f in counted.figures(Place(), at("2026-11-01"), None)]

        assert figures(tally) == figures(board)
        assert sum(received for _, _, received, _, _ in figures(tally)) == 3
    finally:
        tally.close()
