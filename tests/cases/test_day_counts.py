"""The day counts (`central.cases.daycounts`) give the statistics the cases' own count gives,
on both databases: as cases arrive, complete, are confirmed and corrected, and when the counts
are first made in a store that already holds cases (SQLite's first open, revision 0012)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from central.cases import stats
from central.cases.engine import Engine
from central.cases.stats import Figures
from central.cases.timebase import parse_instant as at
from central.web.screen import sqltally
from central.web.screen.sqltally import SqlTally
from central.web.screen.tally import Place
from central.where import Where
from spine.storeurl import StoreUrl
from tests.cases.conftest import SettableClock, entry, run_sql
from tests.central.stores import migrated_again

WINDOWS = ((at("2026-11-01"), at("2026-12-01")), (at("2026-11-24"), None), (None, at("2026-11-24")),
           (at("2026-11-23"), at("2026-11-24")))
GROUPS = (None, "hall", "unit", "day", "month", "year")
FILTERS = (Where(), Where().equals("c.unit", "民政局"), Where().equals("c.hall", "hall-east"))


def _month_of_cases(engine: Engine, clock: SettableClock) -> None:
    store = engine.store
    store.submit(entry("A-1"))
    store.submit(entry("A-2", unit="民政局"))
    store.submit(entry("A-3", hall="hall-east", accepted_at="2026-11-23T23:30",
                       applied_at="2026-11-23T23:00"))  # 23:30 in Shanghai: still the 23rd
    wrong = store.submit(entry("A-4", accepted_at="2026-10-30T10:00", applied_at="2026-10-30T09:00"))
    clock.set("2026-11-24T16:00")
    store.complete({"case_id": "A-1", "by": "李四", "at": "2026-11-24T15:00"})
    store.confirm({"case_id": "A-1", "by": "李四", "at": "2026-11-24T15:30"})
    store.complete({"case_id": "A-2", "by": "李四", "at": "2026-11-24T15:10"})  # not confirmed
    voided = store.complete({"case_id": "A-3", "by": "李四", "at": "2026-11-24T15:20"})
    store.confirm({"case_id": "A-3", "by": "李四", "at": "2026-11-24T15:40"})
    clock.set("2026-11-25T10:00")
    # A typed date corrected into November, and a completion voided: each moves its counts.
    store.correct({"case_id": "A-4", "by": "supervisor-wang", "corrects": wrong.seq,
                   "changes": {"accepted_at": "2026-11-23T10:00"}, "reason": "typed 10-30"})
    store.correct({"case_id": "A-3", "by": "李四", "corrects": voided.seq,
                   "changes": {"void": True}, "reason": "wrong case clicked"})
    clock.set("2026-12-03T10:00")
    engine.tick(at("2026-12-03T10:00"))


def _both_ways(engine: Engine, monkeypatch: pytest.MonkeyPatch, **asked: Any) -> tuple[
        list[Figures], list[Figures]]:
    connection = engine.store.connection
    assert stats._counted(asked.get("by"), asked.get("since"), asked.get("until"),
                          asked.get("cases") or Where())
    counted = stats.statistics(connection, now=engine.store.now(), **asked)
    with monkeypatch.context() as patched:
        patched.setattr(stats, "_counted", lambda *_: False)
        scanned = stats.statistics(connection, now=engine.store.now(), **asked)
    return counted, scanned


def _every_way(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    for since, until in WINDOWS:
        for by in GROUPS:
            for cases in FILTERS:
                counted, scanned = _both_ways(engine, monkeypatch, by=by, since=since, until=until,
                                              cases=cases)
                assert counted == scanned, (by, since, until, cases.also)


def test_counted_statistics_are_the_cases_own_count(
        engine: Engine, clock: SettableClock, monkeypatch: pytest.MonkeyPatch) -> None:
    _month_of_cases(engine, clock)
    november, _ = _both_ways(engine, monkeypatch, by="unit", since=WINDOWS[0][0], until=WINDOWS[0][1])
    units = {f.group: (f.received, f.completed, f.on_time) for f in november}
    # A-4 counts in November since its correction; A-3's completion was voided; A-2 unconfirmed.
    assert units == {"自然资源局": (3, 1, 1), "民政局": (1, 0, 0)}
    days = _both_ways(engine, monkeypatch, by="day", since=at("2026-10-01"), until=at("2026-12-01"))[0]
    # (the other days listed are the cards' days)
    assert {f.group: f.received for f in days if f.received} == {"2026-11-23": 4}
    _every_way(engine, monkeypatch)


def test_a_part_day_or_another_grouping_counts_the_cases(engine: Engine, clock: SettableClock) -> None:
    _month_of_cases(engine, clock)
    assert not stats._counted("unit", at("2026-11-01T10:00"), None, Where())
    assert not stats._counted("matter", at("2026-11-01"), None, Where())
    assert not stats._counted("unit", None, None, Where())
    assert not stats._counted("unit", at("2026-11-01"), None, Where().holds("c.confirmed_at IS NULL"))
    afternoon = engine.store.statistics(by="unit", since=at("2026-11-23T12:00"), until=at("2026-12-01"))
    assert {f.group: f.received for f in afternoon} == {"自然资源局": 1}  # A-3 at 23:30


def _drop_counts(engine: Engine, sqlite: bool) -> None:
    if sqlite:
        for trigger in ("cases_counted_insert", "cases_counted_delete", "cases_counted_update"):
            run_sql(engine, f"DROP TRIGGER {trigger}")
        run_sql(engine, "DROP TABLE case_day_counts")


def test_counts_made_in_a_store_already_holding_cases_count_them(
        case_store: Path | StoreUrl, clock: SettableClock, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine.open(case_store, clock=clock)
    try:
        _month_of_cases(engine, clock)
        _drop_counts(engine, sqlite=isinstance(case_store, Path))
    finally:
        engine.close()
    if isinstance(case_store, StoreUrl):
        # Revision 0012 on a populated database: down to the revision before, and up again.
        migrated_again(case_store, "0010", "case_day_counts")
    engine = Engine.open(case_store, clock=clock)
    try:
        assert run_sql(engine, "SELECT sum(n) FROM case_day_counts WHERE measure = 'received'") == [(4,)]
        _every_way(engine, monkeypatch)
    finally:
        engine.close()


def test_the_screen_counts_whole_days_as_it_counts_cases(
        case_store: Path | StoreUrl, clock: SettableClock, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine.open(case_store, clock=clock)
    try:
        _month_of_cases(engine, clock)
    finally:
        engine.close()
    tally = SqlTally(case_store)
    try:
        periods = ((at("2026-01-01"), at("2026-12-03")), (at("2026-11-24"), None),
                   (at("2026-11-23"), at("2026-11-24")))
        places = (Place(), Place(hall="hall-centre"), Place(unit="民政局"))
        counted = [tally.figures(place, *period) for period in periods for place in places]
        assert sqltally._whole_days(*periods[0])
        monkeypatch.setattr(sqltally, "_whole_days", lambda *_: False)
        assert counted == [tally.figures(place, *period) for period in periods for place in places]
        year = {(f.hall, f.unit): (f.received, f.completed, f.on_time) for f in counted[0]}
        assert year == {("hall-centre", "自然资源局"): (2, 1, 1), ("hall-centre", "民政局"): (1, 0, 0),
                        ("hall-east", "自然资源局"): (1, 0, 0)}
    finally:
        tally.close()
