"""A complaint goes to the unit of its visit: the department the gateways attributed to the
ratings of that very visit, else to its officer's ratings, else to its window's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central.complaints import NewComplaint
from central.config import CentralConfig
from central.service import CentralService
from contract.catalog import validate_body
from spine.clock import SimulatedClock
from tests.central.events import deliver
from tests.central.fakes import HandCases
from tests.central.hall import served

HALL = "hall-01"
CALLED = 1_795_399_200_000  # 2026-11-23 10:00 +08:00
ENDED = CALLED + 7 * 60_000
HOUR = 3_600_000


def rating(rating_id: str, *, window: str, officer: str, department: str, at: int,
           ticket: str | None = None) -> tuple[str, dict[str, Any], int]:
    """The gateway's `rating.recorded`: it attaches window, officer and department."""
    body = {
        "hall": HALL, "window": window, "officer": officer, "officer_name": None,
        "department": department, "service": "A",
        "visit": {"day": "2026-11-23", "ticket": ticket} if ticket else None,
        "how": "visit" if ticket else "session", "rating": rating_id, "terminal": f"rating-w{window}",
        "grade": "satisfied", "rated_at": at, "source_event": "e" * 32,
    }
    validate_body("rating.recorded", body)
    return "rating.recorded", body, at


@pytest.fixture
def central(tmp_path: Path) -> Iterator[CentralService]:
    config = CentralConfig.model_validate({"data_dir": str(tmp_path / "central")})
    service = CentralService(config, clock=SimulatedClock(ENDED + HOUR), cases=HandCases())
    for projection in service.projections:  # what start() does first, without the broker
        projection.install(service.store)
    yield service
    service.stop()


def complain(central: CentralService, **visit: Any) -> dict[str, Any]:
    complaint = central.complaints.receive(
        NewComplaint(hall=HALL, summary="办理时被要求补交无关材料", **visit), "office")
    return central.complaints.get(complaint)


def test_a_complaint_about_a_ticket_goes_to_the_department_its_visit_was_rated_for(
    central: CentralService,
) -> None:
    deliver(central.store, HALL, [
        ("queue.served", served("A023", "3", "1001", CALLED, ENDED), ENDED),
        # The officer also serves for another department at times (a visit just before this
        # one); this visit was rated later, for 市场监管局.
        rating("rating-0001", window="3", officer="1001", department="公安局", at=CALLED),
        rating("rating-0002", window="3", officer="1001", department="市场监管局", at=ENDED + HOUR,
               ticket="A023"),
    ])
    complaint = complain(central, ticket="A023", visit_time=CALLED)
    assert (complaint["window"], complaint["officer"]) == ("3", "1001")
    assert (complaint["unit"], complaint["state"]) == ("市场监管局", "assigned")


def test_without_a_rating_of_the_visit_the_officers_department_counts(central: CentralService) -> None:
    deliver(central.store, HALL, [
        ("queue.served", served("A023", "3", "1001", CALLED, ENDED), ENDED),
        rating("rating-0001", window="5", officer="1001", department="市场监管局", at=CALLED - HOUR),
        rating("rating-0002", window="3", officer="2002", department="公安局", at=CALLED - HOUR),
    ])
    assert complain(central, ticket="A023", visit_time=CALLED)["unit"] == "市场监管局"


def test_a_complaint_naming_a_window_goes_to_the_department_nearest_in_time_at_that_window(
    central: CentralService,
) -> None:
    deliver(central.store, HALL, [
        rating("rating-0001", window="3", officer="2002", department="公安局", at=CALLED - 30 * 24 * HOUR),
        rating("rating-0002", window="3", officer="1001", department="市场监管局", at=CALLED - HOUR),
    ])
    complaint = complain(central, window="3", visit_time=CALLED)
    assert (complaint["unit"], complaint["state"]) == ("市场监管局", "assigned")


def test_a_unit_named_by_the_complainant_wins_and_an_unknown_one_stays_unassigned(
    central: CentralService,
) -> None:
    deliver(central.store, HALL, [
        rating("rating-0001", window="3", officer="1001", department="市场监管局", at=CALLED),
    ])
    assert complain(central, window="3", visit_time=CALLED, unit="民政局")["unit"] == "民政局"
    unknown = complain(central, window="9", visit_time=CALLED)
    assert (unknown["unit"], unknown["state"]) == (None, "received")


def test_linking_the_visit_later_assigns_the_unit_of_that_visit(central: CentralService) -> None:
    deliver(central.store, HALL, [
        ("queue.served", served("A023", "3", "1001", CALLED, ENDED), ENDED),
        rating("rating-0001", window="3", officer="1001", department="市场监管局", at=ENDED, ticket="A023"),
    ])
    complaint = complain(central)
    assert complaint["unit"] is None
    central.complaints.link_visit(complaint["id"], ticket="A023", window=None, visit_time=CALLED,
                                  actor="office")
    assert central.complaints.get(complaint["id"])["unit"] == "市场监管局"
