"""The erasure place of central's event store, the same specification on SQLite and on PostgreSQL: it
finds every subject sealing a phone, says which closed records the retention rule has made due, and
erases their keys (the records stay, their personal data reads as erased)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from central.complaints import ComplaintDesk, QueueEventVisits
from central.complaints.desk import NewComplaint
from central.complaints.settings import ComplaintSettings
from central.deadlines import WorkingDays
from central.erasure.places import CentralPlace
from central.personal import complaint_subject, followup_subject
from central.personal.events import SealingEventStore
from central.personal.retention import PrivacySettings, Retention
from central.personal.subjects import visit_subject
from central.queue_stats import QueueStatsProjection, contact_for
from central.ratings import RatingBook
from central.store import CentralStore
from contract.privacy import ERASED
from spine.clock import SimulatedClock
from spine.storeurl import StoreUrl
from tests.central.events import deliver

HALL, DAY, RATING = "hall-01", "2026-11-23", "rating-0000-bad-0002"
T0 = 1_795_399_200_000  # 2026-11-23 10:00 +08:00
DAY_MS = 86_400_000
PHONE = "13712345678"


@pytest.fixture
def store(store_url: StoreUrl) -> Iterator[CentralStore]:
    store = SealingEventStore(store_url, SimulatedClock(T0))
    yield store
    store.close()


@pytest.fixture
def desk(store: CentralStore) -> ComplaintDesk:
    desk = ComplaintDesk(store, ComplaintSettings.model_validate({}), working_days=WorkingDays(),
                         send=lambda _hall, _command: None, recorders=lambda _hall: [],
                         visits=QueueEventVisits(store), unit_of=lambda _visit: None)
    ratings = RatingBook()
    for projection in (desk, ratings, QueueStatsProjection()):
        projection.install(store)
        store.handlers.append(projection)
    return desk


def closed_records(store: CentralStore, desk: ComplaintDesk) -> str:
    """A complaint answered, a rating's follow-up closed, a phone given at a window: all on T0's day."""
    complaint = desk.receive(NewComplaint(hall=HALL, summary="请回电", phone=PHONE), actor="office")
    desk.answer(complaint, "已答复", "office")
    deliver(store, HALL, [
        ("queue.contact_given", {"day": DAY, "ticket": "A012", "window": "w03", "phone": PHONE}, T0),
        ("rating.recorded", {
            "hall": HALL, "window": "3", "officer": "x001", "officer_name": None, "department": "市场监管局",
            "service": "A", "visit": None, "how": "session", "rating": RATING, "terminal": "rating-w3",
            "grade": "dissatisfied", "rated_at": T0, "source_event": "e" * 32}, T0)])
    ratings = next(h for h in store.handlers if isinstance(h, RatingBook))
    for step, note in (("rectify", "已整改"), ("callback", f"回访 {PHONE}"), ("close", "结案")):
        getattr(ratings, step)(HALL, RATING, "office", note, T0)
    return complaint


def test_the_event_stores_place_finds_what_is_due_and_erases_it(store: CentralStore,
                                                                 desk: ComplaintDesk) -> None:
    place = CentralPlace(store)
    assert place.due(Retention(PrivacySettings(), T0)) == {}
    complaint = closed_records(store, desk)
    visit = visit_subject(HALL, DAY, "A012")
    assert {complaint_subject(complaint), visit} <= place.holding(PHONE)

    rule = PrivacySettings(erase_after_days=180, erase_visit_phones_after_days=30)
    assert set(place.due(Retention(rule, T0 + 31 * DAY_MS))) == {visit}
    due = place.due(Retention(rule, T0 + 181 * DAY_MS))
    assert set(due) == {complaint_subject(complaint), followup_subject(HALL, RATING), visit}

    erased = place.erase(sorted(due), actor="retention", reason="180 days", now_ms=T0 + 181 * DAY_MS)
    assert sorted(erased) == sorted(due)
    assert place.holding(PHONE) == set()
    assert place.due(Retention(rule, T0 + 181 * DAY_MS)) == {}
    assert desk.contact(complaint)["phone"] == ERASED
    assert store.read(lambda tx: contact_for(tx, HALL, DAY, "A012")) is None
