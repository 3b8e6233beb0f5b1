"""At the gateway: officer, window and department come from the window's login, one outcome per visit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rating.hall import DAY, GatewayHall, given


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[GatewayHall]:
    instance = GatewayHall(tmp_path)
    yield instance
    instance.close()


def arm_of(hall: GatewayHall, terminal: str) -> dict:  # type: ignore[type-arg]
    topic, command = hall.arms()[-1]
    assert topic == f"hall/hall-01/dev/{terminal}/cmd"
    return command


def test_a_served_visit_arms_its_windows_terminal_and_the_rating_counts_for_its_officer(
    hall: GatewayHall,
) -> None:
    hall.login("3", "x001")
    hall.serve("3", "A003")
    command = arm_of(hall, "rating-w3")
    assert command["visit"] == {"day": DAY, "ticket": "A003"}
    now = hall.clock.wall_ms()
    hall.device_event("rating-w3", "rating.given",
                      given(command["arming"], "satisfied", command["visit"], armed_at=now,
                            rated_at=now + 3000))
    (recorded,) = hall.emitted("rating.recorded")
    assert recorded | {"rated_at": 0, "source_event": ""} == {
        "hall": "hall-01", "window": "3", "officer": "x001", "officer_name": "王小明",
        "department": "市场监管局", "service": "A", "visit": {"day": DAY, "ticket": "A003"}, "how": "visit",
        "rating": command["arming"], "terminal": "rating-w3", "grade": "satisfied",
        "rated_at": 0, "source_event": ""}


def test_a_terminal_cannot_claim_another_window_or_officer(hall: GatewayHall) -> None:
    hall.login("3", "x001")
    hall.login("4", "y002")
    hall.clock.advance(30_000)
    hall.serve("4", "A009", officer="y002")
    now = hall.clock.wall_ms()
    # Window 3's terminal names window 4's visit: it is rated by time at its own window instead.
    hall.device_event("rating-w3", "rating.given", given("r-forged-01", "very_satisfied",
                      {"day": DAY, "ticket": "A009"}, armed_at=now, rated_at=now + 1000))
    hall.clock.advance(61_000)
    hall.flush()
    (recorded,) = hall.emitted("rating.recorded")
    assert (recorded["window"], recorded["officer"], recorded["visit"]) == ("3", "x001", None)


def test_a_visit_is_rated_once_and_a_second_outcome_is_refused_and_kept(hall: GatewayHall) -> None:
    hall.login("3", "x001")
    hall.serve("3", "A003")
    command = arm_of(hall, "rating-w3")
    now = hall.clock.wall_ms()
    hall.device_event("rating-w3", "rating.given",
                      given(command["arming"], "satisfied", command["visit"], armed_at=now, rated_at=now))
    hall.device_event("rating-w3", "rating.given",
                      given("r-second-01", "very_satisfied", command["visit"], armed_at=now, rated_at=now))
    assert len(hall.emitted("rating.recorded")) == 1
    (refused,) = hall.emitted("rating.refused")
    assert refused["rating"] == "r-second-01" and "already has outcome" in refused["reason"]


def test_an_officers_request_offline_matches_the_visit_served_just_before(hall: GatewayHall) -> None:
    hall.login("3", "x001")
    hall.serve("3", "A003")
    hall.published.clear()
    asked = hall.clock.wall_ms() + 5000  # the terminal never got the arm; the officer pressed please-rate
    hall.clock.advance(3_600_000)  # the outcome reaches the gateway an hour later
    # Its clock is 999 999 ms behind; the gateway dates the press from the monotonic clock.
    hall.device_event("rating-w3", "rating.given",
                      given("r-offline-1", "basically_satisfied", None, armed_at=asked - 999_999,
                            rated_at=asked - 999_999 + 4000), skew_ms=999_999, happened_at=asked + 4000)
    (recorded,) = hall.emitted("rating.recorded")
    assert recorded["visit"] == {"day": DAY, "ticket": "A003"} and recorded["how"] == "matched"
    assert recorded["officer"] == "x001"


def test_please_rate_before_complete_waits_for_the_visit(hall: GatewayHall) -> None:
    hall.login("3", "x001")
    now = hall.clock.wall_ms()
    hall.device_event("rating-w3", "rating.given", given("r-early-01", "dissatisfied", None,
                                                         armed_at=now, rated_at=now + 2000, key="4"))
    hall.device_event("rating-w3", "rating.reason", {"rating": "r-early-01", "reason": "attitude",
                                                      "label": "服务态度差", "at": now + 4000})
    assert hall.emitted("rating.recorded") == []
    hall.clock.advance(8000)
    hall.serve("3", "A004")  # the officer pressed complete after the citizen rated
    # The terminal hears of A004 (it takes that arm as its officer's arming: no second question,
    # test_session), and the rating already here is A004's: no second outcome can come.
    [(_topic, arm)] = hall.arms()
    assert arm["visit"] == {"day": DAY, "ticket": "A004"}
    (recorded,) = hall.emitted("rating.recorded")
    assert recorded["visit"] == {"day": DAY, "ticket": "A004"} and recorded["grade"] == "dissatisfied"
    (reason,) = hall.emitted("rating.reason_recorded")
    assert reason["rating"] == "r-early-01" and reason["reason"] == "attitude"


def test_a_rating_without_any_visit_counts_for_the_logged_in_officer_after_the_wait(
    hall: GatewayHall,
) -> None:
    hall.login("4", "y002")
    now = hall.clock.wall_ms()
    hall.device_event("rating-w4", "rating.given", given("r-walkin-1", "very_satisfied", None,
                                                         armed_at=now, rated_at=now + 1000))
    assert hall.flush() == 0
    hall.clock.advance(61_000)
    assert hall.flush() == 1
    (recorded,) = hall.emitted("rating.recorded")
    assert (recorded["officer"], recorded["department"], recorded["how"]) == ("y002", "公安局", "session")


def test_require_visit_refuses_ratings_no_visit_matches(tmp_path: Path) -> None:
    hall = GatewayHall(tmp_path, require_visit=True)
    try:
        hall.login("4", "y002")
        now = hall.clock.wall_ms()
        hall.device_event("rating-w4", "rating.given", given("r-walkin-1", "very_satisfied", None,
                                                             armed_at=now, rated_at=now))
        hall.clock.advance(61_000)
        hall.flush()
        assert hall.emitted("rating.recorded") == []
        assert hall.emitted("rating.refused")[0]["reason"] == "no served visit matches this rating"
    finally:
        hall.close()


def test_not_rated_is_an_outcome_of_the_visit(hall: GatewayHall) -> None:
    hall.login("3", "x001")
    hall.serve("3", "A003")
    command = arm_of(hall, "rating-w3")
    now = hall.clock.wall_ms()
    hall.device_event("rating-w3", "rating.not_rated", {
        "rating": command["arming"], "visit": command["visit"], "trigger": "visit_completed",
        "armed_at": now, "ended_at": now + 10_000, "why": "timeout"})
    (recorded,) = hall.emitted("rating.recorded")
    assert recorded["grade"] is None and recorded["officer"] == "x001"


def test_the_officer_at_the_time_counts_not_the_one_logged_in_now(hall: GatewayHall) -> None:
    hall.login("4", "y002")
    asked = hall.clock.wall_ms()
    hall.clock.advance(120_000)
    hall.login("4", "x001")  # shift change before the offline terminal's outcome arrives
    hall.device_event("rating-w4", "rating.given", given("r-shift-01", "satisfied", None,
                                                         armed_at=asked, rated_at=asked + 1000),
                      happened_at=asked + 1000)
    # Arrived late, it waits `defer_s` for a visit that may be in another device's backlog.
    assert hall.emitted("rating.recorded") == []
    hall.clock.advance(61_000)
    hall.flush()
    (recorded,) = hall.emitted("rating.recorded")
    assert recorded["officer"] == "y002"


def test_old_served_visits_are_not_armed_when_catching_up(hall: GatewayHall) -> None:
    hall.login("3", "x001")
    hall.store.record_own("queue.served", {"day": DAY, "ticket": "A001", "service": "A", "window": "3",
                                           "officer": "x001", "at": hall.clock.wall_ms(),
                                           "called_at": 0, "service_ms": 1})
    hall.clock.advance(3_600_000)
    hall.store.run_in_transaction(hall.desk.catch_up)
    assert hall.arms() == []
