"""Facts that reach central late: a case is judged only as far as its source's facts are known.

A hall's stream (or a syncing client) has a watermark: its facts are known up
to there. An escalation at T for one of its cases waits until the watermark
has passed T plus the grace period; once issued it is never retracted, and it
says when it came late.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from central.cases.engine import Engine, TickReport
from central.cases.sources import hall_source
from central.cases.timebase import datetime_from_instant
from central.cases.timebase import parse_instant as at
from tests.cases.conftest import SettableClock, entry

HALL = hall_source("hall-centre")
"""The source of the cases the hall's gateway forwards."""
ESCALATIONS = ("yellow_card", "red_card", "supervision_letter")


def done(case_id: str, when: str, kind: str = "case.completed") -> tuple[str, dict[str, str]]:
    return kind, {"case_id": case_id, "by": "李四", "at": when}


def cards(report: TickReport) -> list[tuple[str, str]]:
    """The escalations a tick issued (it may issue reminders too)."""
    return [(i.case_id, i.kind) for i in report.issued if i.kind in ESCALATIONS]


def escalations(engine: Engine, case_id: str) -> list[tuple[str, bool]]:
    return [(e.body["kind"], e.body["late"]) for e in engine.store.history(case_id)
            if e.kind == "case.escalated"]


@pytest.fixture
def hall_cases(engine: Engine, clock: SettableClock) -> Engine:
    """Two cases the hall forwarded on Mon 11-23 (5 working days: yellow card Tue 12-01)."""
    for case_id in ("JQ-2026-0001", "JQ-2026-0002"):
        engine.store.record("case.accepted", entry(case_id), source=HALL)
    engine.tick(watermarks={HALL: clock.now})
    return engine


def test_a_hall_offline_for_two_days_gets_no_card_for_a_case_completed_in_time(
    hall_cases: Engine, clock: SettableClock
) -> None:
    engine = hall_cases
    engine.tick(at("2026-11-27T18:00"), watermarks={HALL: at("2026-11-27T18:00")})
    # The hall's link goes down on Friday evening. On Monday, its due day, the officer
    # completes JQ-0001 at 15:00; the facts wait in the hall's outbox.
    for day in ("2026-11-30T12:00", "2026-12-01T08:00", "2026-12-02T08:00"):
        clock.set(day)
        report = engine.tick(watermarks={HALL: at("2026-11-27T18:00")})
        assert cards(report) == []
    view = engine.store.case("JQ-2026-0001")
    assert view.data_incomplete_since == datetime_from_instant(at("2026-11-27T18:00"))
    assert view.stage == "yellow_light"  # as of Friday evening, less the grace

    # Wednesday 09:00 the link is back: the hall's backlog arrives, then its watermark.
    clock.set("2026-12-02T09:00")
    for kind, body in (done("JQ-2026-0001", "2026-11-30T15:00"),
                       done("JQ-2026-0001", "2026-11-30T15:05", "case.completion_confirmed")):
        engine.store.record(kind, body, source=HALL)
    engine.tick(watermarks={HALL: at("2026-12-02T09:00")})

    assert escalations(engine, "JQ-2026-0001") == []
    view = engine.store.case("JQ-2026-0001")
    assert (view.stage, view.on_time, view.days_taken, view.data_incomplete_since) == (
        "completed", True, 5, None)
    # The other case really is overdue: its cards come now, saying they are late.
    assert escalations(engine, "JQ-2026-0002") == [("yellow_card", True), ("red_card", True)]
    assert engine.store.statistics()[0].yellow_cards == 1


def test_a_fact_that_reaches_the_stream_within_the_grace_period_prevents_the_card(
    hall_cases: Engine, clock: SettableClock
) -> None:
    engine = hall_cases
    # Done at 23:58 on the due day; the window's system sends it at 00:05. At 00:04 the
    # hall's stream was complete up to 00:04, but the fact was not in it yet.
    clock.set("2026-12-01T00:04")
    assert cards(engine.tick(watermarks={HALL: clock.now})) == []
    clock.set("2026-12-01T00:05")
    engine.store.record(*done("JQ-2026-0001", "2026-11-30T23:58"), source=HALL)
    engine.store.record(*done("JQ-2026-0001", "2026-11-30T23:59", "case.completion_confirmed"),
                        source=HALL)
    clock.set("2026-12-01T00:16")  # the grace has passed, and the hall is current
    report = engine.tick(watermarks={HALL: clock.now})
    assert cards(report) == [("JQ-2026-0002", "yellow_card")]
    assert escalations(engine, "JQ-2026-0002") == [("yellow_card", False)]  # not late
    assert escalations(engine, "JQ-2026-0001") == []


def test_a_live_case_is_judged_on_time_while_a_hall_is_behind(
    hall_cases: Engine, clock: SettableClock
) -> None:
    engine = hall_cases
    engine.store.submit(entry("JQ-2026-0003"))  # entered by the supervision office: live
    clock.set("2026-12-01T08:00")
    report = engine.tick(watermarks={HALL: at("2026-11-27T18:00")})
    assert cards(report) == [("JQ-2026-0003", "yellow_card")]


def test_a_watermark_never_moves_back(hall_cases: Engine, clock: SettableClock) -> None:
    engine = hall_cases
    engine.tick(at("2026-12-01T08:00"), watermarks={HALL: at("2026-12-01T08:00")})
    engine.tick(at("2026-12-01T08:01"), watermarks={HALL: at("2026-11-24T00:00")})
    assert engine.store.sources.watermark(HALL) == at("2026-12-01T08:00")


def test_a_held_back_card_is_issued_once_across_a_restart(
    db_path: Path, clock: SettableClock
) -> None:
    first = Engine.open(db_path, clock=clock)
    first.store.record("case.accepted", entry(), source=HALL)
    clock.set("2026-12-01T08:00")
    first.tick(watermarks={HALL: at("2026-11-27T18:00")})
    first.close()
    second = Engine.open(db_path, clock=clock)
    clock.set("2026-12-01T09:00")
    assert second.tick().issued == []  # the watermark it remembers is still Friday's
    assert cards(second.tick(watermarks={HALL: clock.now})) == [("JQ-2026-0001", "yellow_card")]
    second.close()
    third = Engine.open(db_path, clock=clock)
    assert third.tick(watermarks={HALL: clock.now}).issued == []
    assert escalations(third, "JQ-2026-0001") == [("yellow_card", True)]
    third.close()


def test_a_case_of_a_hall_never_heard_from_waits(engine: Engine, clock: SettableClock) -> None:
    engine.store.record("case.accepted", entry(), source=HALL)
    clock.set("2026-12-10T08:00")
    assert engine.tick().issued == []
    assert cards(engine.tick(watermarks={HALL: clock.now})) == [
        ("JQ-2026-0001", "yellow_card"), ("JQ-2026-0001", "red_card"),
        ("JQ-2026-0001", "supervision_letter")]
