"""Case records: entered once, never edited, corrected by attributed events, verifiably untampered."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from central.cases.engine import Engine
from central.cases.store import CaseConflict, EntryRejected, UnknownCase
from central.cases.timebase import parse_instant as at
from central.chain import Head, link_hash
from tests.cases.conftest import CONTACT_PHONE, REFUSED, SettableClock, entry, run_sql


def test_resubmitting_the_same_case_stores_it_once(engine: Engine) -> None:
    first = engine.store.submit(entry())
    again = engine.store.submit(entry())
    assert (first.duplicate, again.duplicate, again.seq) == (False, True, None)
    assert [e.kind for e in engine.store.history("JQ-2026-0001")] == ["case.accepted"]


def test_a_different_case_under_a_taken_id_is_refused(engine: Engine) -> None:
    engine.store.submit(entry())
    with pytest.raises(CaseConflict):
        engine.store.submit(entry(limit=7))


def test_schema_errors_are_listed_together(engine: Engine) -> None:
    with pytest.raises(EntryRejected) as caught:
        engine.store.submit(entry(contact_phone="call me", limit=0))
    assert {p.split(":")[0] for p in caught.value.problems} == {"contact_phone", "limit"}


def test_the_log_refuses_updates_and_deletes(engine: Engine) -> None:
    engine.store.submit(entry())
    with pytest.raises(REFUSED, match="append-only"):
        run_sql(engine, "UPDATE case_events SET actor = 'x' WHERE seq = 2")
    with pytest.raises(REFUSED, match="append-only"):
        run_sql(engine, "DELETE FROM case_events WHERE seq = 2")


def _tamper(db_path: Path, sql: str) -> None:
    """What an insider with the database file could do: drop the guard and edit."""
    connection = sqlite3.connect(db_path)
    connection.execute("DROP TRIGGER case_events_no_update")
    connection.execute("DROP TRIGGER case_events_no_delete")
    connection.execute(sql)
    connection.commit()
    connection.close()


def _three_cases(db_path: Path, clock: SettableClock) -> None:
    engine = Engine.open(db_path, clock=clock)
    for n in range(3):
        engine.store.submit(entry(f"JQ-2026-{n:04d}"))
    engine.close()


def test_verify_names_the_first_edited_record(db_path: Path, clock: SettableClock) -> None:
    _three_cases(db_path, clock)
    _tamper(db_path, "UPDATE case_events SET body = replace(body, '\"limit\":5', '\"limit\":9')"
                     " WHERE seq = 3")
    engine = Engine.open(db_path, clock=clock)
    report = engine.store.verify()
    assert (report.ok, report.first_bad) == (False, 3)
    assert "changed" in (report.problem or "")


def test_verify_notices_a_deleted_record(db_path: Path, clock: SettableClock) -> None:
    _three_cases(db_path, clock)
    _tamper(db_path, "DELETE FROM case_events WHERE seq = 3")
    report = Engine.open(db_path, clock=clock).store.verify()
    assert (report.ok, report.first_bad) == (False, 3)
    assert "missing" in (report.problem or "")


def test_a_rewritten_log_no_longer_extends_the_published_head(
    db_path: Path, clock: SettableClock
) -> None:
    _three_cases(db_path, clock)
    published = Engine.open(db_path, clock=clock).store.head()
    # Rewrite record 3 and re-chain everything after it, so the chain itself is consistent.
    connection = sqlite3.connect(db_path)
    connection.execute("DROP TRIGGER case_events_no_update")
    rows = connection.execute(
        "SELECT seq, case_id, kind, at, recorded_at, actor, body FROM case_events ORDER BY seq"
    ).fetchall()
    prev = "0" * 64
    for seq, case_id, kind, when, recorded_at, actor, body in rows:
        if seq == 3:
            body = body.replace('"limit":5', '"limit":9')
        digest = link_hash(prev, (seq, case_id, kind, when, recorded_at, actor), body)
        connection.execute("UPDATE case_events SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                           (body, prev, digest, seq))
        prev = digest
    connection.commit()
    connection.close()
    store = Engine.open(db_path, clock=clock).store
    assert store.verify().ok  # consistent on its own...
    report = store.verify(published)
    assert (report.ok, report.first_bad) == (False, published.seq)  # ...but not what was published


def test_a_log_that_grew_still_extends_the_published_head(engine: Engine) -> None:
    engine.store.submit(entry("JQ-2026-0001"))
    published = Head.from_json(engine.store.head().to_json())
    engine.store.submit(entry("JQ-2026-0002"))
    engine.tick(at("2026-12-05T00:00"))
    report = engine.store.verify(published)
    assert report.ok and report.head.seq > published.seq


def test_correction_names_what_it_corrects_and_the_history_keeps_both(
    engine: Engine, clock: SettableClock
) -> None:
    accepted = engine.store.submit(entry(accepted_at="2026-11-03T10:00"))
    clock.set("2026-11-23T11:00")
    fixed = engine.store.correct({
        "case_id": "JQ-2026-0001", "by": "supervisor-wang", "corrects": accepted.seq,
        "changes": {"accepted_at": "2026-11-23T10:00"}, "reason": "typed 03 for 23",
    })
    history = engine.store.history("JQ-2026-0001")
    assert [e.kind for e in history][:1] == ["case.accepted"]
    assert history[0].body["accepted_at"] == "2026-11-03T10:00:00+08:00"
    correction = next(e for e in history if e.seq == fixed.seq)
    assert (correction.actor, correction.body["corrects"], correction.body["reason"]) == (
        "supervisor-wang", accepted.seq, "typed 03 for 23")
    view = engine.store.case("JQ-2026-0001")
    assert (view.due_day, view.corrections) == ("2026-11-30", [fixed.seq])


def test_correction_that_moves_the_deadline_keeps_what_was_issued(
    engine: Engine, clock: SettableClock
) -> None:
    # The wrong date made the case look overdue at entry: cards were issued at once.
    accepted = engine.store.submit(entry(accepted_at="2026-11-03T10:00"))
    assert accepted.issued == ["yellow_light", "yellow_card", "red_card", "supervision_letter"]
    clock.set("2026-11-23T11:00")
    engine.store.correct({
        "case_id": "JQ-2026-0001", "by": "supervisor-wang", "corrects": accepted.seq,
        "changes": {"accepted_at": "2026-11-23T10:00"}, "reason": "typed 03 for 23",
    })
    view = engine.store.case("JQ-2026-0001")
    assert view.stage == "blue"
    assert set(view.issued) == {"yellow_light", "yellow_card", "red_card", "supervision_letter"}
    engine.tick(at("2026-12-10T00:00"))
    escalated = [e for e in engine.store.history("JQ-2026-0001") if e.kind == "case.escalated"]
    assert len(escalated) == 3  # never issued twice


def test_voiding_a_wrong_completion_reopens_the_case(engine: Engine, clock: SettableClock) -> None:
    engine.store.submit(entry())
    clock.set("2026-11-24T10:00")
    done = engine.store.complete({"case_id": "JQ-2026-0001", "by": "李四",
                                  "at": "2026-11-24T10:00"})
    engine.store.correct({"case_id": "JQ-2026-0001", "by": "李四", "corrects": done.seq,
                          "changes": {"void": True}, "reason": "wrong case clicked"})
    view = engine.store.case("JQ-2026-0001")
    assert (view.completed_at, view.awaiting_confirmation) == (None, False)


def test_suspension_needs_a_legal_reason(engine: Engine) -> None:
    engine.store.submit(entry())
    with pytest.raises(EntryRejected, match="legal suspension reason"):
        engine.store.suspend({"case_id": "JQ-2026-0001", "by": "李四",
                              "at": "2026-11-23T10:04", "reason": "lunch"})


def test_resume_without_suspension_is_refused(engine: Engine) -> None:
    engine.store.submit(entry())
    with pytest.raises(EntryRejected, match="not suspended"):
        engine.store.resume({"case_id": "JQ-2026-0001", "by": "李四", "at": "2026-11-23T10:04"})


def test_a_resent_suspension_is_the_same_suspension(engine: Engine) -> None:
    engine.store.submit(entry())
    event = {"case_id": "JQ-2026-0001", "by": "李四", "at": "2026-11-23T10:04",
             "reason": "hearing"}
    engine.store.suspend(event)
    assert engine.store.suspend(event).duplicate


def test_events_in_the_future_are_refused(engine: Engine) -> None:
    engine.store.submit(entry())
    with pytest.raises(EntryRejected, match="future"):
        engine.store.complete({"case_id": "JQ-2026-0001", "by": "李四",
                               "at": "2026-11-25T10:00"})


def test_unknown_case(engine: Engine) -> None:
    with pytest.raises(UnknownCase):
        engine.store.resume({"case_id": "JQ-NOPE", "by": "x", "at": "2026-11-23T10:00"})


def test_the_contact_phone_is_nowhere_in_clear_but_the_personal_table(engine: Engine) -> None:
    engine.store.submit(entry())
    logged = run_sql(engine, "SELECT body FROM case_events")
    assert logged and CONTACT_PHONE not in ",".join(row[0] for row in logged)
    projected = run_sql(engine, "SELECT file FROM cases")
    assert projected and CONTACT_PHONE not in ",".join(row[0] for row in projected)
    view = engine.store.case("JQ-2026-0001")
    assert CONTACT_PHONE not in view.model_dump_json()
    assert view.contact_phone == "138****5678"
    assert engine.store.contact_phone("JQ-2026-0001") == CONTACT_PHONE
