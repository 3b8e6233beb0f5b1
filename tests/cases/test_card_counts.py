"""The cards' counts (`central.cases.cardcounts`) give the statistics' cards and false alarms that
joining every issued card to its case gives, on both databases, whatever `now` they are judged
at: after cards issued by ticks and by an import, a correction pushing a card's stage past now,
one pushing it past the card but not past now, a correction moving a case to another unit, a
completion dated before a card's stage, and when the counts are first made in a store already
holding cards (SQLite's first open, revision 0014)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from central.cases import stats
from central.cases.cardcounts import TRIGGER_NAMES
from central.cases.engine import Engine
from central.cases.importer import import_lines
from central.cases.stats import Figures
from central.cases.timebase import Instant
from central.cases.timebase import parse_instant as at
from central.web.screen import sqltally
from central.web.screen.sqltally import SqlTally
from central.web.screen.tally import Place
from central.where import Where
from spine.storeurl import StoreUrl
from tests.cases.conftest import SettableClock, entry, run_sql
from tests.central.stores import migrated_again

NOWS: tuple[Instant | None, ...] = (None, at("2026-12-02T12:00"), at("2026-12-04T12:00"),
                                    at("2026-12-10T00:00"), at("2026-12-20T10:00"))
WINDOWS = ((at("2026-11-01"), at("2027-01-01")), (at("2026-12-02"), None), (None, at("2026-12-03")),
           (at("2026-12-01"), at("2026-12-02")), (at("2026-12-03"), at("2026-12-04")))
GROUPS = (None, "hall", "unit", "day", "month")
FILTERS = (Where(), Where().equals("c.unit", "民政局"), Where().equals("c.unit", "市场监管局"),
           Where().equals("c.hall", "hall-east"))


def _history(engine: Engine, clock: SettableClock) -> None:
    """Accepted Mon 11-23, five working days: yellow card 12-01, red card 12-02, letter 12-03."""
    store = engine.store
    pushed = store.submit(entry("K-1"))
    store.submit(entry("K-2", unit="民政局"))
    nudged = store.submit(entry("K-3", hall="hall-east"))
    store.submit(entry("K-4"))
    clock.set("2026-12-04T12:00")
    engine.tick(at("2026-12-04T12:00"))  # every card and letter of the four, issued
    # A date typed wrong: accepted 12-02 as corrected, its cards' stages now fall after now.
    store.correct({"case_id": "K-1", "by": "supervisor-wang", "corrects": pushed.seq,
                   "changes": {"accepted_at": "2026-12-02T10:00"}, "reason": "typed 11-23"})
    # Two days out: its yellow card's stage moves past the card, not past now.
    store.correct({"case_id": "K-3", "by": "supervisor-wang", "corrects": nudged.seq,
                   "changes": {"accepted_at": "2026-11-25T10:00"}, "reason": "typed 11-23"})
    # Another unit's case, all along.
    store.correct({"case_id": "K-2", "by": "supervisor-wang", "corrects": store.history("K-2")[0].seq,
                   "changes": {"unit": "市场监管局"}, "reason": "wrong unit"})
    # Done before its cards, confirmed late: every card it got disowned for good.
    store.complete({"case_id": "K-4", "by": "李四", "at": "2026-11-30T15:00"})
    store.confirm({"case_id": "K-4", "by": "李四", "at": "2026-12-04T12:00"})
    # An import's history, judged as of its instant: its cards issued by the import's tick.
    import_lines(store, [json.dumps({"type": "case.accepted", "body": entry(
        "K-5", unit="民政局", hall="hall-east")}, ensure_ascii=False)], at=at("2026-12-04T12:00"))
    clock.set("2026-12-20T10:00")
    engine.tick(at("2026-12-20T10:00"))


def _both_ways(engine: Engine, monkeypatch: pytest.MonkeyPatch, now: Instant | None,
               **asked: Any) -> tuple[list[Figures], list[Figures]]:
    connection = engine.store.connection
    assert stats._counted(asked.get("by"), asked.get("since"), asked.get("until"),
                          asked.get("cases") or Where())
    counted = stats.statistics(connection, now=now, **asked)
    with monkeypatch.context() as patched:
        patched.setattr(stats, "_counted", lambda *_: False)
        joined = stats.statistics(connection, now=now, **asked)
    return counted, joined


def _every_way(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    for now in NOWS:
        for since, until in WINDOWS:
            for by in GROUPS:
                for cases in FILTERS:
                    counted, joined = _both_ways(engine, monkeypatch, now, by=by, since=since,
                                                 until=until, cases=cases)
                    assert counted == joined, (now, by, since, until, cases.also)


def _cards(figures: list[Figures]) -> dict[str | None, tuple[int, ...]]:
    return {f.group: (f.yellow_cards, f.red_cards, f.supervision_letters, f.false_yellow_cards,
                      f.false_red_cards, f.false_supervision_letters) for f in figures}


def test_counted_cards_and_false_alarms_are_the_joined_count_at_every_now(
        engine: Engine, clock: SettableClock, monkeypatch: pytest.MonkeyPatch) -> None:
    _history(engine, clock)
    december = {"since": at("2026-12-01"), "until": at("2027-01-01"), "by": "unit"}
    # On 12-04: K-1's three are disowned until their stages (12-10 on), K-4's three for good,
    # K-3's letter until 12-07 (its yellow and red card's stages, pushed two days, have passed);
    # K-2's cards moved to its new unit.
    counted, joined = _both_ways(engine, monkeypatch, at("2026-12-04T12:00"), **december)
    assert counted == joined
    assert _cards(counted) == {"自然资源局": (3, 3, 3, 2, 2, 3), "市场监管局": (1, 1, 1, 0, 0, 0),
                               "民政局": (1, 1, 1, 0, 0, 0)}
    # On 12-02 at noon in hall-east: K-3's three, their stages pushed past it (12-03 on), and
    # the import's letter, due 12-03, after it too.
    east = _both_ways(engine, monkeypatch, at("2026-12-02T12:00"), since=at("2026-12-01"),
                      until=at("2027-01-01"), cases=Where().equals("c.hall", "hall-east"))
    assert east[0] == east[1]
    assert _cards(east[0]) == {None: (2, 2, 2, 1, 1, 2)}
    later = _both_ways(engine, monkeypatch, at("2026-12-20T10:00"), **december)
    assert _cards(later[0])["自然资源局"] == (3, 3, 3, 1, 1, 1)  # K-4's, for good
    assert run_sql(engine, "SELECT count(*) FROM case_cards_pushed") != [(0,)]
    _every_way(engine, monkeypatch)


def _drop_counts(engine: Engine, sqlite: bool) -> None:
    if sqlite:
        for trigger in TRIGGER_NAMES:
            run_sql(engine, f"DROP TRIGGER {trigger}")
        run_sql(engine, "DROP TABLE case_card_counts")
        run_sql(engine, "DROP TABLE case_cards_pushed")


def test_counts_made_in_a_store_already_holding_cards_count_them(
        case_store: Path | StoreUrl, clock: SettableClock, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine.open(case_store, clock=clock)
    try:
        _history(engine, clock)
        _drop_counts(engine, sqlite=isinstance(case_store, Path))
    finally:
        engine.close()
    if isinstance(case_store, StoreUrl):
        # Revision 0014 on a populated database: down to the revision before, and up again.
        migrated_again(case_store, "0012", "case_card_counts")
    engine = Engine.open(case_store, clock=clock)
    try:
        issued = run_sql(engine, "SELECT count(*) FROM case_issued WHERE escalation = 1")
        assert run_sql(engine, "SELECT sum(issued) FROM case_card_counts") == issued
        _every_way(engine, monkeypatch)
    finally:
        engine.close()


def test_the_screen_counts_whole_days_cards_as_it_counts_rows(
        case_store: Path | StoreUrl, clock: SettableClock, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine.open(case_store, clock=clock)
    try:
        _history(engine, clock)
    finally:
        engine.close()
    tally = SqlTally(case_store)
    try:
        periods = ((at("2026-01-01"), at("2026-12-20")), (at("2026-12-02"), None),
                   (at("2026-12-01"), at("2026-12-02")))
        places = (Place(), Place(hall="hall-east"), Place(unit="市场监管局"), Place(unit="民政局"))
        counted = [tally.figures(place, *period) for period in periods for place in places]
        monkeypatch.setattr(sqltally, "_whole_days", lambda *_: False)
        assert counted == [tally.figures(place, *period) for period in periods for place in places]
        year = {(f.hall, f.unit): f.issued for f in counted[0]}
        assert year[("hall-centre", "市场监管局")] == {"yellow_cards": 1, "red_cards": 1, "letters": 1}
    finally:
        tally.close()
