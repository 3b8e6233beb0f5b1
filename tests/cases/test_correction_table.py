"""Corrections, by hand: a case entered wrongly, corrected, and its light at given instants.

Expected stages come from the 2026 schedule counted on paper (see
test_countdown_table.py for the schedule); the corrected facts must give the
same light as if they had been entered right, and the history keeps both.
"""

from __future__ import annotations

from typing import Any

import pytest

from central.cases.engine import Engine
from central.cases.timebase import parse_instant as at
from tests.cases.conftest import SettableClock, entry

# name: (entry changes, facts before the correction, which record to correct
#        ("accepted" or a fact index), the correction's changes, [(instant, stage)])
TABLE: dict[str, tuple[dict[str, Any], list[dict[str, Any]], str | int, dict[str, Any],
                       list[tuple[str, str]]]] = {
    # Typed 09-03 for 09-30. Corrected: Wed 09-30, 2 working days: Thu 10-08=1,
    # Fri 10-09=2 (due), Sat 10-10 make-up=3 (yellow card).
    "acceptance_date_typo_before_national_day": (
        {"applied_at": "2026-09-03T09:00", "accepted_at": "2026-09-03T10:00", "limit": 2},
        [],
        "accepted",
        {"applied_at": "2026-09-30T09:00", "accepted_at": "2026-09-30T10:00"},
        [("2026-10-07T12:00", "blue"), ("2026-10-08T00:00", "yellow_light"),
         ("2026-10-09T00:00", "red_light"), ("2026-10-10T00:00", "yellow_card")],
    ),
    # Entered with 5 working days, the matter has 1: Fri 02-13, due on the
    # make-up Saturday 02-14, yellow card Tue 02-24 after the Spring Festival.
    "limit_corrected_to_one_day_before_spring_festival": (
        {"applied_at": "2026-02-13T15:00", "accepted_at": "2026-02-13T16:00", "limit": 5},
        [],
        "accepted",
        {"limit": 1},
        [("2026-02-13T17:00", "yellow_light"), ("2026-02-14T00:00", "red_light"),
         ("2026-02-23T12:00", "red_light"), ("2026-02-24T00:00", "yellow_card")],
    ),
    # Mon 11-23, 5 days, suspended (hearing) recorded from Tue 11-24 15:00,
    # resumed Thu 11-26 09:00; the hearing really began Wed 11-25 10:00, so only
    # 11-26 is suspended at its 00:00: Tue24=1 Wed25=2 Fri27=3 Mon30=4 Tue1=5 (due).
    "suspension_start_corrected": (
        {},
        [{"kind": "suspend", "at": "2026-11-24T15:00", "reason": "hearing"},
         {"kind": "resume", "at": "2026-11-26T09:00"}],
        0,
        {"at": "2026-11-25T10:00"},
        [("2026-11-25T09:00", "blue"), ("2026-11-25T10:00", "suspended"),
         ("2026-11-30T00:00", "yellow_light"), ("2026-12-01T00:00", "red_light"),
         ("2026-12-02T00:00", "yellow_card")],
    ),
    # A completion clicked on the wrong case on Tue 11-24, voided: the case runs
    # on as if never completed (due Mon 11-30).
    "wrong_completion_voided": (
        {},
        [{"kind": "complete", "at": "2026-11-24T11:00"},
         {"kind": "confirm", "at": "2026-11-24T11:05"}],
        0,
        {"void": True},
        [("2026-11-24T12:00", "blue"), ("2026-11-27T00:00", "yellow_light"),
         ("2026-12-01T00:00", "yellow_card")],
    ),
}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_corrected_case_shows_the_light_of_its_corrected_facts(
    name: str, engine: Engine, clock: SettableClock
) -> None:
    changes, facts, target, correction, expectations = TABLE[name]
    clock.set("2026-12-10T09:00")  # after every fact: corrections come later
    store = engine.store
    accepted = store.submit(entry(**changes))
    seqs = []
    for fact in facts:
        body = {"case_id": "JQ-2026-0001", "by": "李四", "at": fact["at"]}
        if fact["kind"] == "suspend":
            seqs.append(store.suspend({**body, "reason": fact["reason"]}).seq)
        elif fact["kind"] == "resume":
            seqs.append(store.resume(body).seq)
        elif fact["kind"] == "complete":
            seqs.append(store.complete(body).seq)
        else:
            store.confirm(body)
    corrects = accepted.seq if target == "accepted" else seqs[int(target)]
    before = [e.seq for e in store.history("JQ-2026-0001")]
    fixed = store.correct({"case_id": "JQ-2026-0001", "by": "supervisor-wang",
                           "corrects": corrects, "changes": correction,
                           "reason": "entered wrongly"})
    countdown = store.countdown("JQ-2026-0001")
    assert [(t, countdown.stage_at(at(t)).value) for t, _ in expectations] == expectations
    history = [e.seq for e in store.history("JQ-2026-0001")]
    assert history[:len(before)] == before and fixed.seq in history
