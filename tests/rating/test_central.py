"""Central: satisfaction per department, window and officer over a period, and bad-rating follow-ups;
the same specification on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import exc as sql_errors
from sqlalchemy import text

from central.ratings import FollowUpError, RatingBook, RatingCentralSettings
from central.store import CentralStore
from contract.catalog import validate_body
from contract.envelope import Envelope, Received
from spine.clock import SimulatedClock
from spine.storeurl import StoreUrl

# Thursday 2026-10-08 10:00 in Shanghai (02:00 UTC): the day after the National Day holidays.
T0 = int(datetime(2026, 10, 8, 2, 0, tzinfo=UTC).timestamp() * 1000)
HOUR = 3_600_000


class Central:
    def __init__(self, url: StoreUrl, **settings: Any) -> None:
        self.store = CentralStore(url, SimulatedClock(T0))
        self.book = RatingBook(RatingCentralSettings.model_validate(settings))
        self.book.install(self.store)
        self.store.handlers.append(self.book)
        self.n = 0

    def event(self, type: str, body: dict[str, Any], hall: str = "hall-01") -> None:
        validate_body(type, body)
        self.n += 1
        envelope = Envelope(v=1, id=uuid.uuid4().hex, device="gw-hall-01", seq=self.n, boot="boot0001",
                            time=body.get("rated_at", T0), mono=0, type=type, body=body,
                            recv=Received(by="gw-hall-01", at=T0, est_time=T0))
        with self.store.statements() as tx:
            self.book.apply(tx, hall, envelope)

    def rating(self, rating: str, grade: str | None, *, officer: str = "x001", window: str = "3",
               department: str = "市场监管局", at: int = T0, hall: str = "hall-01") -> None:
        self.event("rating.recorded", {
            "hall": hall, "window": window, "officer": officer, "officer_name": None,
            "department": department, "service": "A", "visit": None, "how": "session", "rating": rating,
            "terminal": f"rating-w{window}", "grade": grade, "rated_at": at, "source_event": "e" * 32,
        }, hall)


@pytest.fixture
def central(store_url: StoreUrl) -> Iterator[Central]:
    instance = Central(store_url)
    yield instance
    instance.store.close()


def test_satisfaction_counts_grades_and_the_three_shares_per_officer(central: Central) -> None:
    for n, grade in enumerate(["very_satisfied", "satisfied", "satisfied", "basically_satisfied",
                               "dissatisfied", None, None]):
        central.rating(f"rating-x-{n:02d}", grade, at=T0 + n * 1000)
    central.rating("rating-y-01", "very_dissatisfied", officer="y002", window="4", department="公安局")
    rows = {row.key: row for row in central.book.satisfaction("officer")}
    x = rows["x001"]
    assert x.grades == {"very_satisfied": 1, "satisfied": 2, "basically_satisfied": 1, "dissatisfied": 1,
                        "very_dissatisfied": 0}
    assert (x.rated, x.not_rated, x.satisfied, x.bad) == (5, 2, 4, 1)
    assert (x.satisfaction_rate, x.bad_share, x.not_rated_share) == (0.8, 0.2, round(2 / 7, 4))
    assert rows["y002"].bad_share == 1.0
    by_department = {row.key: row.rated for row in central.book.satisfaction("department")}
    assert by_department == {"市场监管局": 5, "公安局": 1}
    assert {row.key for row in central.book.satisfaction("window")} == {"hall-01/3", "hall-01/4"}


def test_any_period_counts_only_outcomes_inside_it(central: Central) -> None:
    central.rating("rating-early-1", "satisfied", at=T0 - 48 * HOUR)
    central.rating("rating-now-01", "satisfied", at=T0)
    central.rating("rating-late-1", "dissatisfied", at=T0 + 48 * HOUR)
    (row,) = central.book.satisfaction(None, since_ms=T0 - HOUR, until_ms=T0 + HOUR)
    assert row.rated == 1
    (everything,) = central.book.satisfaction()
    assert everything.rated == 3


def test_a_rating_delivered_twice_counts_once(central: Central) -> None:
    central.rating("rating-dup-01", "satisfied")
    central.rating("rating-dup-01", "satisfied")
    (row,) = central.book.satisfaction()
    assert row.rated == 1


def test_every_bad_rating_opens_a_follow_up_due_in_fifteen_working_days(central: Central) -> None:
    central.rating("rating-good-1", "satisfied")
    central.rating("rating-bad-01", "dissatisfied")
    central.event("rating.reason_recorded", {"rating": "rating-bad-01", "terminal": "rating-w3",
                                             "reason": "attitude", "label": "服务态度差",
                                             "source_event": "f" * 32})
    (followup,) = central.book.followups(T0)
    # 15 working days after Thu 2026-10-08: Sat 10-10 is a make-up workday, so the 15th is Wed 10-28.
    due = datetime.fromtimestamp(followup.due_at / 1000, UTC)
    assert due == datetime(2026, 10, 28, 16, 0, tzinfo=UTC)  # end of 10-28 in Shanghai
    assert (followup.state, followup.reason, followup.overdue) == ("open", "服务态度差", False)


def test_seven_calendar_days_when_configured(store_url: StoreUrl) -> None:
    central = Central(store_url, followup_days=7, followup_unit="calendar_days")
    try:
        central.rating("rating-bad-01", "very_dissatisfied")
        (followup,) = central.book.followups(T0)
        assert followup.due_at == T0 + 7 * 24 * HOUR
    finally:
        central.store.close()


def test_a_follow_up_is_rectified_called_back_and_closed_in_that_order(central: Central) -> None:
    central.rating("rating-bad-01", "dissatisfied")
    book = central.book
    with pytest.raises(FollowUpError, match="must be called_back"):
        book.close("hall-01", "rating-bad-01", "supervisor", "done", T0 + HOUR)
    book.rectify("hall-01", "rating-bad-01", "unit-head", "officer retrained on courtesy", T0 + HOUR)
    book.callback("hall-01", "rating-bad-01", "supervisor", "citizen content", T0 + 2 * HOUR)
    book.close("hall-01", "rating-bad-01", "supervisor", "closed", T0 + 3 * HOUR)
    (followup,) = book.followups(T0 + 30 * 24 * HOUR)
    assert followup.state == "closed" and not followup.overdue
    assert [step["action"] for step in book.history("hall-01", "rating-bad-01")] == [
        "opened", "rectified", "called_back", "closed"]
    assert book.verify_log() is None
    assert book.by("unit", None)["市场监管局"] == {"ratings": 1, "satisfied": 0, "bad": 1, "bad_rectified": 1}


def test_an_edited_follow_up_step_is_named_by_the_log_check(central: Central) -> None:
    central.rating("rating-bad-01", "dissatisfied")
    central.book.rectify("hall-01", "rating-bad-01", "unit-head", "officer retrained", T0 + HOUR)
    assert central.book.verify_log() is None
    # Someone with the file (or the database's owner) drops the guard and softens what was done.
    if central.store.url.is_sqlite:
        with sqlite3.connect(central.store.path) as raw:
            raw.execute("DROP TRIGGER rating_followup_log_no_update")
            raw.execute("UPDATE rating_followup_log SET note = 'nothing' WHERE id = 2")
    else:
        with central.store.sql_transaction() as sql:
            sql.execute(text("ALTER TABLE rating_followup_log DISABLE TRIGGER USER"))
            sql.execute(text("UPDATE rating_followup_log SET note = 'nothing' WHERE id = 2"))
    assert central.book.verify_log() == "follow-up log row 2 does not match its chain"


def test_an_open_follow_up_past_its_deadline_is_overdue(central: Central) -> None:
    central.rating("rating-bad-01", "dissatisfied")
    assert central.book.followups(T0 + 30 * 24 * HOUR, overdue_only=True)[0].overdue


def test_the_follow_up_log_cannot_be_edited(central: Central) -> None:
    central.rating("rating-bad-01", "dissatisfied")
    with pytest.raises(sql_errors.IntegrityError, match="append-only"), \
            central.store.sql_transaction() as sql:
        sql.execute(text("UPDATE rating_followup_log SET note = 'nothing happened'"))


def test_todays_hall_figures_for_the_big_screen(central: Central) -> None:
    central.rating("rating-a-0001", "satisfied")
    central.rating("rating-b-0001", "very_dissatisfied")
    central.rating("rating-c-0001", None)
    central.rating("rating-other1", "satisfied", hall="hall-02")
    assert central.book.today("hall-01", T0 + HOUR) == {
        "rated": 2, "not_rated": 1, "satisfaction_rate": 0.5, "bad": 1, "open_followups": 1}
