"""The terminal's rating rules: one outcome per arming, everything else flagged for audit."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from pydantic import ValidationError

from contract.catalog import validate_body
from contract.events.rating import ArmTrigger, Grade
from edge.rating_terminal.config import RatingRules
from edge.rating_terminal.session import Instant, Phase, RatingSession, Record, Show
from edge.runtime.hardware.keys import KeyEvent, KeyEventKind

VISIT = {"day": "2026-11-26", "ticket": "A003"}


class Terminal:
    """A session on a hand clock that keeps what it recorded and the last phase it showed."""

    def __init__(self, **rules: Any) -> None:
        ids = itertools.count(1)
        self.session = RatingSession(RatingRules.model_validate(rules),
                                     new_id=lambda: f"arming-{next(ids):03d}")
        self.t = 1_000_000
        self.records: list[Record] = []
        self.shown: list[Show] = []

    def now(self) -> Instant:
        return Instant(1_700_000_000_000 + self.t, self.t)

    def run(self, effects: list[Any]) -> None:
        for effect in effects:
            if isinstance(effect, Record):
                validate_body(effect.type, effect.body)  # every record fits its schema
                self.records.append(effect)
            else:
                self.shown.append(effect)

    def wait(self, ms: int) -> None:
        self.t += ms
        self.run(self.session.tick(self.now()))

    def arm(self, visit: dict[str, str] | None = VISIT, arming_id: str | None = "gw-arm-0001") -> None:
        trigger = ArmTrigger.VISIT_COMPLETED if visit else ArmTrigger.OFFICER_REQUEST
        self.run(self.session.arm(self.now(), trigger, visit, arming_id))

    def press(self, key: str) -> None:
        self.run(self.session.press(self.now(), key))

    def of(self, type: str) -> list[dict[str, Any]]:
        return [r.body for r in self.records if r.type == type]

    def flags(self) -> list[str]:
        return [b["flag"] for b in self.of("rating.key_flagged")]


def test_a_grade_pressed_while_armed_is_one_rating_of_that_visit() -> None:
    t = Terminal()
    t.arm()
    assert t.session.phase is Phase.ARMED
    t.wait(2000)
    t.press("2")
    (given,) = t.of("rating.given")
    assert given["grade"] == Grade.SATISFIED and given["visit"] == VISIT and given["rating"] == "gw-arm-0001"
    assert given["reason_pending"] is False
    assert t.session.phase is Phase.THANKS
    t.wait(3000)
    assert t.session.phase is Phase.IDLE and t.shown[-1] == Show(Phase.IDLE)


def test_no_key_within_the_window_is_not_rated() -> None:
    t = Terminal(arm_window_s=10)
    t.arm()
    t.wait(9_999)
    assert t.of("rating.not_rated") == []
    t.wait(1)
    (not_rated,) = t.of("rating.not_rated")
    assert not_rated["why"] == "timeout" and not_rated["visit"] == VISIT
    t.press("1")  # too late
    assert t.of("rating.given") == [] and t.flags() == ["unarmed"]


def test_mashing_and_extra_presses_are_flagged_never_counted() -> None:
    t = Terminal(mash_ms=600)
    t.arm()
    t.press("1")
    for key in ["3", "5", "1"]:
        t.wait(50)
        t.press(key)
    t.wait(1000)
    t.press("4")
    assert [g["grade"] for g in t.of("rating.given")] == ["very_satisfied"]
    assert t.flags() == ["mashing", "mashing", "mashing", "extra"]
    assert {b["rating"] for b in t.of("rating.key_flagged")} == {"gw-arm-0001"}


def test_a_held_key_counts_once_and_is_flagged_held() -> None:
    t = Terminal()
    t.arm()
    t.press("2")
    t.run(t.session.keypad_event(t.now(), KeyEvent(KeyEventKind.HELD, t.t, "2", 1500)))
    t.run(t.session.keypad_event(t.now(), KeyEvent(KeyEventKind.BOUNCE, t.t, "2")))
    assert len(t.of("rating.given")) == 1
    assert t.of("rating.key_flagged")[0] | {"at": 0} == {
        "flag": "held", "key": "2", "rating": "gw-arm-0001", "held_ms": 1500, "detail": "", "at": 0}


def test_presses_before_arming_are_flagged_unarmed() -> None:
    t = Terminal()
    t.press("1")
    t.arm()
    assert t.flags() == ["unarmed"] and t.session.phase is Phase.ARMED


def test_a_bad_grade_asks_for_a_reason_and_records_it() -> None:
    t = Terminal(mash_ms=600)
    t.arm()
    t.press("4")
    (given,) = t.of("rating.given")
    assert given["grade"] == Grade.DISSATISFIED and given["reason_pending"] is True
    assert t.session.phase is Phase.REASON
    t.wait(100)
    t.press("4")  # still mashing: not taken as a reason
    t.wait(2000)
    t.press("2")
    (reason,) = t.of("rating.reason")
    assert reason == {"rating": "gw-arm-0001", "reason": "efficiency", "label": "办事效率低",
                      "at": reason["at"]}
    assert t.flags() == ["mashing"]
    assert t.session.phase is Phase.THANKS


def test_a_bad_grade_without_a_reason_still_counts_and_records_no_reason() -> None:
    t = Terminal(reason_window_s=15)
    t.arm()
    t.press("5")
    t.wait(15_000)
    (reason,) = t.of("rating.reason")
    assert reason["reason"] is None
    assert [g["grade"] for g in t.of("rating.given")] == ["very_dissatisfied"]
    assert t.session.phase is Phase.IDLE


def test_the_officer_can_ask_for_a_rating_without_the_gateway() -> None:
    t = Terminal()
    t.press("please_rate")
    t.press("3")
    (given,) = t.of("rating.given")
    assert given["trigger"] == "officer_request" and given["visit"] is None
    assert given["rating"] == "arming-001"


def test_the_gateways_arm_right_after_the_officers_request_is_the_same_visit() -> None:
    t = Terminal()
    t.press("please_rate")
    t.wait(300)
    t.arm()  # the gateway's arm for the visit the officer just completed
    t.press("1")
    (given,) = t.of("rating.given")
    assert given["visit"] == VISIT and given["rating"] == "arming-001"
    t.wait(500)
    t.arm(arming_id="gw-arm-0001")  # a redelivered command
    assert t.session.phase is Phase.THANKS and len(t.of("rating.given")) == 1


def test_the_gateways_late_arm_for_a_visit_the_officer_had_rated_never_arms_again() -> None:
    t = Terminal()
    t.press("please_rate")  # the gateway is down: the officer asks, the citizen rates
    t.press("1")
    t.wait(30_000)  # thank you, then idle; the gateway comes back
    t.arm()  # its arm for the visit the officer completed before asking
    assert t.session.phase is Phase.IDLE and t.session.joined == 1
    t.press("please_rate")  # the next citizen
    t.press("2")
    assert [g["grade"] for g in t.of("rating.given")] == ["very_satisfied", "satisfied"]
    assert [g["visit"] for g in t.of("rating.given")] == [None, None]
    assert t.of("rating.not_rated") == [] and t.flags() == []


def test_an_arm_joins_only_one_officers_arming_and_only_a_recent_one() -> None:
    t = Terminal(arm_max_age_s=60)
    t.press("please_rate")
    t.press("1")
    t.wait(300)  # still saying thank you
    t.arm()  # joins
    t.arm({"day": "2026-11-26", "ticket": "A004"}, "gw-arm-0002")  # the next visit arms
    assert t.session.phase is Phase.ARMED and t.session.arming is not None
    assert t.session.arming.visit == {"day": "2026-11-26", "ticket": "A004"}
    t.press("2")
    t.wait(30_000)
    t.press("please_rate")
    t.press("3")
    t.wait(61_000)  # older than arm_max_age_s: that officer's arming was for another visit
    t.arm({"day": "2026-11-26", "ticket": "A005"}, "gw-arm-0003")
    assert t.session.phase is Phase.ARMED and t.session.joined == 1


def test_a_repeated_arm_command_does_not_rate_the_visit_twice() -> None:
    t = Terminal()
    t.arm()
    t.press("1")
    t.wait(5000)
    t.arm()
    t.press("2")
    assert len(t.of("rating.given")) == 1 and t.flags() == ["unarmed"]


def test_the_next_visit_supersedes_an_unanswered_arming() -> None:
    t = Terminal()
    t.arm()
    t.wait(3000)
    t.arm({"day": "2026-11-26", "ticket": "A004"}, "gw-arm-0002")
    t.press("2")
    (not_rated,) = t.of("rating.not_rated")
    assert not_rated["why"] == "superseded" and not_rated["visit"] == VISIT
    assert t.of("rating.given")[0]["visit"]["ticket"] == "A004"


def test_a_keypad_fault_is_recorded_once_each_way_and_explains_not_rated() -> None:
    t = Terminal()
    t.arm()
    t.run(t.session.keypad_event(t.now(), KeyEvent(KeyEventKind.FAULT, t.t, detail="3 polls failed")))
    t.wait(10_000)
    t.run(t.session.keypad_event(t.now(), KeyEvent(KeyEventKind.RECOVERED, t.t)))
    assert [b["state"] for b in t.of("rating.terminal_fault")] == ["fault", "ok"]
    assert t.of("rating.not_rated")[0]["why"] == "fault"
    assert t.of("rating.given") == []


def test_rules_need_a_key_for_each_of_the_five_grades() -> None:
    with pytest.raises(ValidationError, match="five grades"):
        RatingRules.model_validate({"grades": {"1": "satisfied", "2": "dissatisfied"}})
    with pytest.raises(ValidationError, match="please_rate_key"):
        RatingRules.model_validate({"please_rate_key": "1"})


def test_a_noisy_line_is_flagged_in_bursts_with_a_count_not_flooding_the_outbox() -> None:
    t = Terminal()
    for _ in range(50):
        t.run(t.session.keypad_event(t.now(), KeyEvent(KeyEventKind.BAD_FRAME, t.t, detail="checksum")))
        t.wait(100)
    assert len(t.of("rating.key_flagged")) == 10
    t.wait(60_000)
    t.run(t.session.keypad_event(t.now(), KeyEvent(KeyEventKind.BAD_FRAME, t.t, detail="checksum")))
    assert t.of("rating.key_flagged")[-1]["detail"] == "checksum (+40 more not recorded)"
