"""Escalations and reminders: issued at their instant, exactly once, across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.cases.engine import Engine
from central.cases.timebase import datetime_from_instant
from central.cases.timebase import parse_instant as at
from contract.catalog import validate_body
from tests.cases.conftest import SettableClock, entry


def when(text: str):  # type: ignore[no-untyped-def]
    return datetime_from_instant(at(text))


def kinds(engine: Engine, case_id: str = "JQ-2026-0001") -> list[str]:
    return [e.body["kind"] for e in engine.store.history(case_id)
            if e.kind in ("case.escalated", "case.reminder")]


def test_yellow_light_reminder_goes_to_the_first_responsible_officer(engine: Engine) -> None:
    engine.store.submit(entry())
    report = engine.tick(at("2026-11-27T00:00"))
    assert [(i.case_id, i.kind) for i in report.issued] == [("JQ-2026-0001", "yellow_light")]
    reminder = [e for e in engine.store.history("JQ-2026-0001") if e.kind == "case.reminder"][0]
    assert reminder.body["officer_name"] == "李四"
    validate_body("case.reminder", reminder.body)
    assert reminder.at == when("2026-11-27T00:00")


def test_each_escalation_is_issued_with_the_instant_the_rules_put_it_at(engine: Engine) -> None:
    engine.store.submit(entry())
    engine.tick(at("2026-12-05T09:00"))  # the engine was down for days
    escalations = [e for e in engine.store.history("JQ-2026-0001") if e.kind == "case.escalated"]
    assert [(e.body["kind"], e.at) for e in escalations] == [
        ("yellow_card", when("2026-12-01T00:00")),
        ("red_card", when("2026-12-02T00:00")),
        ("supervision_letter", when("2026-12-03T00:00")),
    ]
    assert all(e.recorded_at == when("2026-12-05T09:00") for e in escalations)
    # The records are valid protocol events, ready to forward (SMS, big screen).
    for record in escalations:
        validate_body("case.escalated", record.body)


def test_yellow_card_issues_once_across_restart(
    db_path: Path, clock: SettableClock
) -> None:
    first = Engine.open(db_path, clock=clock)
    first.store.submit(entry())
    first.tick(at("2026-12-01T08:00"))
    first.close()
    second = Engine.open(db_path, clock=clock)
    second.tick(at("2026-12-01T08:00"))
    second.tick(at("2026-12-01T09:00"))
    assert kinds(second) == ["yellow_light", "yellow_card"]
    second.close()


def test_restart_in_the_middle_of_an_escalation_run_loses_and_repeats_nothing(
    db_path: Path, clock: SettableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine.open(db_path, clock=clock)
    engine.batch = 3
    for n in range(10):
        engine.store.submit(entry(f"JQ-2026-{n:04d}"))
    appended = 0
    original = engine.store.log.append

    def crash_after_seven(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal appended
        appended += 1
        if appended > 7:
            raise OSError("power cut")
        return original(*args, **kwargs)

    monkeypatch.setattr(engine.store.log, "append", crash_after_seven)
    with pytest.raises(OSError):
        engine.tick(at("2026-12-01T08:00"))
    engine.close()

    restarted = Engine.open(db_path, clock=clock)
    restarted.tick(at("2026-12-01T08:00"))
    for n in range(10):
        assert kinds(restarted, f"JQ-2026-{n:04d}") == ["yellow_light", "yellow_card"]
    assert restarted.store.verify().ok
    restarted.close()


def test_a_tick_with_nothing_due_touches_nothing(engine: Engine) -> None:
    engine.store.submit(entry())
    engine.tick(at("2026-11-27T00:00"))
    head = engine.store.head()
    report = engine.tick(at("2026-11-29T12:00"))
    assert report.processed == 0
    assert engine.store.head() == head
    assert engine.next_due() == at("2026-11-30T00:00")


def test_done_but_unconfirmed_case_is_flagged_before_it_would_turn_red(
    engine: Engine, clock: SettableClock
) -> None:
    engine.store.submit(entry())
    clock.set("2026-11-26T16:00")
    engine.store.complete({"case_id": "JQ-2026-0001", "by": "李四", "at": "2026-11-26T15:00"})
    report = engine.tick(at("2026-11-27T00:00"))
    assert [i.kind for i in report.issued] == ["unconfirmed_completion"]
    light = engine.store.lights()[0]
    assert light.awaiting_confirmation


def test_confirmed_case_gets_no_more_escalations(engine: Engine, clock: SettableClock) -> None:
    engine.store.submit(entry())
    clock.set("2026-11-30T16:00")
    engine.store.complete({"case_id": "JQ-2026-0001", "by": "李四", "at": "2026-11-30T15:00"})
    engine.store.confirm({"case_id": "JQ-2026-0001", "by": "李四", "at": "2026-11-30T16:00"})
    engine.tick(at("2026-12-10T00:00"))
    assert "case.escalated" not in [e.kind for e in engine.store.history("JQ-2026-0001")]
    view = engine.store.case("JQ-2026-0001", now=at("2026-12-10T00:00"))
    assert (view.stage.value, view.on_time, view.days_taken) == ("completed", True, 5)


def test_suspension_freezes_escalation_until_resumed(engine: Engine, clock: SettableClock) -> None:
    engine.store.submit(entry())
    clock.set("2026-11-30T10:00")
    engine.store.suspend({"case_id": "JQ-2026-0001", "by": "李四", "at": "2026-11-30T10:00",
                          "reason": "expert_review"})
    engine.tick(at("2026-12-10T00:00"))
    assert kinds(engine) == ["yellow_light"]
    assert engine.store.case("JQ-2026-0001", now=at("2026-12-10T00:00")).frozen_stage == "red_light"
    # Resumed Thu 12-10 10:00: 12-01..12-10 did not count; the yellow card comes Fri 12-11.
    clock.set("2026-12-10T10:00")
    engine.store.resume({"case_id": "JQ-2026-0001", "by": "李四", "at": "2026-12-10T10:00"})
    engine.tick(at("2026-12-10T23:00"))
    assert kinds(engine) == ["yellow_light"]
    engine.tick(at("2026-12-11T00:00"))
    assert kinds(engine) == ["yellow_light", "yellow_card"]


def test_a_changed_rule_table_re_evaluates_open_cases_and_is_logged(
    db_path: Path, clock: SettableClock
) -> None:
    from central.cases.rules import Ladder, default_rules

    engine = Engine.open(db_path, clock=clock)
    engine.store.submit(entry())
    engine.close()
    clock.set("2026-11-26T12:00")
    earlier_yellow = default_rules().model_copy(update={"ladder": Ladder(yellow_light=-2)})
    engine = Engine.open(db_path, clock=clock, rules=earlier_yellow)
    # With the yellow light two working days ahead, Thu 11-26 is already yellow.
    assert engine.store.lights()[0].stage == "yellow_light"
    update = [e for e in engine.store.events() if e.kind == "rules.updated"][-1]
    assert update.body["reevaluated"] == 1
    engine.close()
