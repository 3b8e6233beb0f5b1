"""No false cards from late facts: a history is judged once it is known, never line by line.

The issue's three-line repro, the import's instant (`--at`), what a tick does
after it, and an import that dies half-way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from central.cases import importer
from central.cases.engine import Engine
from central.cases.importer import import_lines
from central.cases.sources import hall_source
from central.cases.timebase import datetime_from_instant
from central.cases.timebase import parse_instant as at
from hallwatch.cli import main
from spine.storeurl import StoreUrl
from tests.cases.conftest import SettableClock, entry

REPRO = [
    entry("JQ-2026-0302", applied_at="2026-03-02T09:00", accepted_at="2026-03-02T09:30", limit=5),
    {"type": "case.completed", "body": {"case_id": "JQ-2026-0302", "by": "李四",
                                        "at": "2026-03-04T10:00"}},
    {"type": "case.completion_confirmed", "body": {"case_id": "JQ-2026-0302", "by": "李四",
                                                   "at": "2026-03-04T10:05"}},
]


def lines(*records: dict[str, object]) -> list[str]:
    return [json.dumps(record, ensure_ascii=False) for record in records]


def hall(*args: str) -> str:
    result = CliRunner().invoke(main, ["central", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_three_line_repro_imports_as_a_case_done_on_time_with_no_card(tmp_path: Path) -> None:
    db, source = tmp_path / "cases.sqlite", tmp_path / "repro.jsonl"
    source.write_text("\n".join(lines(*REPRO)) + "\n", encoding="utf-8")
    hall("import", "--db", str(db), str(source))
    figures = json.loads(hall("stats", "--db", str(db), "--json"))[0]
    assert (figures["received"], figures["completed"], figures["on_time"]) == (1, 1, 1)
    assert (figures["yellow_cards"], figures["red_cards"], figures["letters"]) == (
        0, 0, 0)
    shown = hall("case", "--db", str(db), "JQ-2026-0302", "--history")
    view, history = _two_json_documents(shown)
    assert (view["stage"], view["on_time"], view["days_taken"], view["issued"]) == (
        "completed", True, 2, [])
    assert [record["kind"] for record in history] == [
        "case.accepted", "case.completed", "case.completion_confirmed"]


def _two_json_documents(text: str) -> tuple[dict[str, object], list[dict[str, object]]]:
    decoder = json.JSONDecoder()
    first, end = decoder.raw_decode(text)
    second, _ = decoder.raw_decode(text[end:].lstrip())
    return first, second


@pytest.fixture
def engine(case_store: Path | StoreUrl, clock: SettableClock) -> Iterator[Engine]:
    clock.set("2026-12-20T10:00")
    engine = Engine.open(case_store, clock=clock)
    yield engine
    engine.close()


def test_an_import_judges_its_cases_as_of_its_instant_and_a_later_tick_goes_on(
    engine: Engine,
) -> None:
    # Accepted Mon 11-23, 5 working days: yellow card Tue 12-01, red card Wed 12-02.
    report = import_lines(engine.store, lines(entry()), at=at("2026-11-30T12:00"))
    assert (report.stored, report.judged, report.at) == (1, 1, at("2026-11-30T12:00"))
    assert engine.store.case("JQ-2026-0001", now=at("2026-11-30T12:00")).stage == "red_light"
    assert engine.store.statistics()[0].yellow_cards == 0
    # The docs' promise: `tick --at` after an import finds what fell due since its instant.
    ticked = engine.tick(at("2026-12-01T08:00"))
    assert [(i.kind, i.due_at) for i in ticked.issued] == [("yellow_card", at("2026-12-01T00:00"))]


def test_a_history_imported_late_issues_its_real_cards_marked_late(engine: Engine) -> None:
    import_lines(engine.store, lines(entry()), at=at("2026-12-03T09:00"))
    escalated = [e for e in engine.store.history("JQ-2026-0001") if e.kind == "case.escalated"]
    assert [(e.body["kind"], e.at, e.body["late"]) for e in escalated] == [
        ("yellow_card", datetime_from_instant(at("2026-12-01T00:00")), True),
        ("red_card", datetime_from_instant(at("2026-12-02T00:00")), True),
        ("supervision_letter", datetime_from_instant(at("2026-12-03T00:00")), True),
    ]


def test_an_import_cannot_judge_ahead_of_the_clock(engine: Engine) -> None:
    with pytest.raises(ValueError, match="in the future"):
        import_lines(engine.store, lines(entry()), at=at("2026-12-21T10:00"))
    assert engine.store.open_count() == 0


def test_facts_after_the_import_instant_are_refused_as_in_its_future(engine: Engine) -> None:
    report = import_lines(engine.store, lines(*REPRO), at=at("2026-03-03T12:00"))
    assert report.stored == 1
    assert [problem.line for problem in report.rejected] == [2, 3]


@pytest.fixture
def line_by_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commit every line: what a long file does every few thousand."""
    monkeypatch.setattr(importer, "_CHUNK", 1)


def test_no_tick_judges_a_case_while_its_import_is_still_loading(
    engine: Engine, line_by_line: None
) -> None:
    # The acceptance is in, its completion a few thousand lines further on: the running
    # service ticks in between, and must not judge the case on half its facts.
    def history() -> Iterator[str]:
        yield from lines(entry(accepted_at="2026-11-03T10:00", applied_at="2026-11-03T09:00"))
        assert engine.tick(at("2026-12-20T10:00")).issued == []
        yield from lines({"type": "case.completed", "body": {
            "case_id": "JQ-2026-0001", "by": "李四", "at": "2026-11-05T10:00"}})
        yield from lines({"type": "case.completion_confirmed", "body": {
            "case_id": "JQ-2026-0001", "by": "李四", "at": "2026-11-05T10:05"}})

    import_lines(engine.store, history())
    assert engine.store.statistics()[0].yellow_cards == 0
    assert engine.store.case("JQ-2026-0001").on_time is True


def test_an_import_that_died_half_way_holds_its_cases_until_it_is_run_again(
    engine: Engine, line_by_line: None
) -> None:
    history = lines(
        entry(accepted_at="2026-11-03T10:00", applied_at="2026-11-03T09:00"),
        {"type": "case.completed", "body": {"case_id": "JQ-2026-0001", "by": "李四",
                                            "at": "2026-11-05T10:00"}},
        {"type": "case.completion_confirmed", "body": {"case_id": "JQ-2026-0001", "by": "李四",
                                                       "at": "2026-11-05T10:05"}},
    )

    def dies_after_the_first_line() -> Iterator[str]:
        yield history[0]
        raise OSError("the operator's laptop went to sleep")

    with pytest.raises(OSError):
        import_lines(engine.store, dies_after_the_first_line())
    assert engine.store.open_count() == 1
    assert engine.tick(at("2026-12-20T10:00")).issued == []
    assert list(engine.store.projector.held().values()) == [1]
    assert engine.store.statistics()[0].yellow_cards == 0

    report = import_lines(engine.store, history)
    assert (report.duplicates, report.stored) == (1, 2)
    assert engine.store.projector.held() == {}
    assert engine.store.statistics()[0].yellow_cards == 0
    assert engine.store.case("JQ-2026-0001").stage == "completed"


def test_a_tick_says_whose_data_are_incomplete(db_path: Path) -> None:
    engine = Engine.open(db_path)
    hall_centre = hall_source("hall-centre")
    engine.store.record("case.accepted", entry(), now=at("2026-11-23T10:05"), source=hall_centre)
    engine.tick(at("2026-11-23T10:05"), watermarks={hall_centre: at("2026-11-23T10:05")})
    engine.close()
    shown = hall("tick", "--db", str(db_path), "--at", "2026-12-01T10:00")
    assert "0 cases due" in shown
    assert "hall:hall-centre: data incomplete since 2026-11-23T10:05:00+08:00" in shown
