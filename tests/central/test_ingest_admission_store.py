"""Central's admission rules and its sealing of personal data, the same specification on SQLite and
on PostgreSQL: a gateway speaks only for its hall, a window only of its unit's cases; what the
contract names personal is stored sealed, read back only through its key, and erased with it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import exc as sql_errors
from sqlalchemy import text

from central.authority import HallTrust
from central.cases.store import EntryRejected
from central.hall_cases import CaseFactsFromHalls
from central.personal import Reader, vault
from central.personal.events import SealingEventStore
from central.store import CentralStore
from contract.envelope import Batch, Envelope, Received
from contract.privacy import ERASED, PersonalKind
from spine.clock import SimulatedClock
from spine.engines import open_engine
from spine.handlers import HandlerContext
from spine.receiver import AcceptedEvent, BatchReceiver
from spine.statement import Statement
from spine.storeurl import StoreUrl
from tests.privacy.conftest import CITIZEN, OFFICER, case_entry

T0 = 1_780_000_000_000
HALL = "hall-01"
GATEWAY = "gw-hall-01"
CALLER = {"kind": "caller", "window": "w03", "officer": "window-3", "unit": "自然资源局"}
"""The author hall-01's gateway verified for window w03's caller (officer window-3 logged in)."""
CASES = {"PD-0300": (HALL, "自然资源局"), "PD-0400": (HALL, "税务局")}
"""The case records central keeps (case id -> hall, unit): the admission rules' scope."""


class Seen:
    """A handler of the storing transaction: what the handlers are given."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def handle(self, context: HandlerContext, event: AcceptedEvent) -> None:
        self.bodies.append(event.envelope.body)


@pytest.fixture
def store(store_url: StoreUrl) -> Iterator[CentralStore]:
    store = SealingEventStore(store_url, SimulatedClock(T0))
    yield store
    store.close()


def receiver(store: CentralStore, cases: dict[str, tuple[str, str]] = CASES) -> BatchReceiver:
    """The ingest's receiver as `CentralIngest` builds it: the hall's trust, its rules inside the commit."""
    trust = HallTrust({HALL: GATEWAY}, lambda case_id: cases.get(case_id))
    store.admit = trust.admit
    return BatchReceiver(store, SimulatedClock(T0), authorize=trust.authorize, check_event=trust.check)


def batch(events: list[tuple[str, dict[str, Any]]], *, sender: str = GATEWAY) -> bytes:
    envelopes = [Envelope(v=1, id=uuid.uuid4().hex, device="caller-3", seq=seq, boot="boot0001",
                          time=T0 + seq, mono=0, type=type, body=body,
                          recv=Received(by=sender, at=T0 + seq, est_time=T0 + seq, **CALLER))
                 for seq, (type, body) in enumerate(events, start=1)]
    return Batch(v=1, batch=uuid.uuid4().hex, sender=sender, boot="boot0001", sent_at=T0, sent_mono=0,
                 events=[e.model_dump() for e in envelopes]).model_dump_json().encode()


def rows(store: CentralStore, sql: str) -> list[tuple[Any, ...]]:
    statement = Statement(lambda _dialect: text(sql))
    return [tuple(row) for row in store.read(lambda tx: statement.run(tx).fetchall())]


def correction(case_id: str, **changes: Any) -> dict[str, Any]:
    return {"case_id": case_id, "by": "window-3", "corrects": 1, "reason": "号码错了",
            "changes": changes}


def test_a_window_states_facts_only_of_its_units_cases_and_a_refusal_is_kept_and_raised(
        store: CentralStore) -> None:
    ingest = receiver(store)
    ack = ingest.receive(f"central/{HALL}/events", HALL, batch([
        ("case.accepted", case_entry("PD-0300", "张三丰", CITIZEN)),
        ("case.corrected", correction("PD-0400", contact_name="李四")),   # another unit's case
        ("case.corrected", correction("PD-0300", contact_name="张三")),
    ]))
    assert ack is not None and ack.stored == 2
    assert [(r.index, r.reason) for r in ack.rejected] == [
        (1, "case PD-0400 of unit '税务局': caller-3 may state facts of 自然资源局 only")]
    assert rows(store, "SELECT type FROM events ORDER BY id") == [("case.accepted",), ("case.corrected",)]
    alarms = rows(store, "SELECT refused_by, hall, device, type FROM security_alarms")
    assert alarms == [("central", HALL, "caller-3", "case.corrected")]
    assert rows(store, "SELECT count(*) FROM dead_letters") == [(1,)]


def test_a_nul_character_in_an_event_refuses_that_event_alone_where_any_store_would_keep_it(
        store: CentralStore) -> None:
    # PostgreSQL's text cannot hold one: the log keeps it escaped in its JSON, but the case's row
    # and every projection's column taking the text out failed there, and not on SQLite (the
    # API's insert gave 500). Refused as malformed, alike on both; its neighbours are stored.
    ingest = receiver(store)
    clean = case_entry("PD-0300", "张三丰", CITIZEN)
    ack = ingest.receive(f"central/{HALL}/events", HALL, batch([
        ("case.accepted", {**case_entry("PD-0300", "张三丰", CITIZEN), "matter": "户外广告\x00设置许可"}),
        ("case.accepted", clean),
    ]))
    assert ack is not None and ack.stored == 1
    assert [(r.index, r.reason) for r in ack.rejected] == [
        (0, "a NUL character in body.matter: no store can hold one; fix the sender")]
    assert rows(store, "SELECT type FROM events") == [("case.accepted",)]
    assert rows(store, "SELECT reason FROM dead_letters") == [
        ("a NUL character in body.matter: no store can hold one; fix the sender",)]
    # One in an event's id (the dead letter's column) or a field's name is kept spelled out.
    envelope = json.loads(batch([("case.accepted", clean)]))
    envelope["events"][0]["id"] = "e\x001"
    ack = ingest.receive(f"central/{HALL}/events", HALL, json.dumps(envelope).encode())
    assert ack is not None and ack.stored == 0 and ack.rejected[0].reason.startswith("a NUL character in id")
    assert ("e\\x001",) in rows(store, "SELECT event_id FROM dead_letters")


def test_a_gateway_speaking_for_another_hall_is_refused_whole_and_raised(store: CentralStore) -> None:
    ingest = receiver(store)
    ack = ingest.receive(f"central/{HALL}/events", HALL,
                         batch([("case.accepted", case_entry("PD-0300", "张三丰", CITIZEN))],
                               sender="gw-hall-02"))
    assert ack is not None and ack.stored == 0
    assert rows(store, "SELECT count(*) FROM events") == [(0,)]
    assert rows(store, "SELECT refused_by, device FROM security_alarms") == [("central", "gw-hall-02")]


def test_personal_data_is_stored_sealed_the_handlers_see_it_as_it_came_and_erasure_shreds_it(
        store: CentralStore) -> None:
    seen = Seen()
    store.handlers.append(seen)
    receiver(store).receive(f"central/{HALL}/events", HALL, batch([
        ("case.accepted", case_entry("PD-0300", "张三丰", CITIZEN)),
        ("case.corrected", correction("PD-0300", contact_phone="138 1111 0002")),
    ]))
    assert seen.bodies[0]["contact_phone"] == CITIZEN and seen.bodies[0]["contact_name"] == "张三丰"
    payloads = [json.loads(p) for (p,) in rows(store, "SELECT payload FROM events ORDER BY id")]
    assert all("1111" not in json.dumps(p, ensure_ascii=False) for p in payloads)
    assert "张三丰" not in json.dumps(payloads[0], ensure_ascii=False)
    sealed = payloads[0]["body"]["contact_phone"]

    def opened(tx: Any) -> tuple[str | None, str | None]:
        reader = Reader(tx)
        return reader.clear("case:PD-0300", sealed), reader.masked("case:PD-0300", sealed)

    assert store.read(opened) == (CITIZEN, "138****0002")
    assert store.read(lambda tx: vault.subjects_holding(tx, PersonalKind.MOBILE, "+86 138-1111-0002")) \
        == ["case:PD-0300"]
    # The officer's work number is sealed too, but a citizen's request does not find the case by it.
    assert store.read(lambda tx: vault.subjects_holding(tx, PersonalKind.MOBILE, OFFICER)) == []

    with store.statements() as tx:
        assert vault.erase(tx, ["case:PD-0300", "case:none"], actor="office", reason="a citizen's request",
                           now_ms=T0) == ["case:PD-0300"]
    engine = open_engine(store.url)
    with engine.connect() as connection:
        vault.forget_old_frames(connection)
    engine.dispose()
    assert store.read(opened) == (ERASED, ERASED)
    assert store.read(lambda tx: vault.subjects_holding(tx, PersonalKind.MOBILE, CITIZEN)) == []
    assert store.read(lambda tx: vault.erasures(tx)) == [
        {"subject": "case:PD-0300", "at": T0, "actor": "office", "reason": "a citizen's request"}]
    with pytest.raises(sql_errors.DBAPIError, match="append-only"), store.sql_transaction() as sql:
        sql.execute(text("DELETE FROM personal_erasures"))


def test_a_subject_erased_before_gets_a_new_key_for_new_data(store: CentralStore) -> None:
    with store.statements() as tx:
        old = vault.seal(tx, "case:A", PersonalKind.MOBILE, CITIZEN)
    with store.statements() as tx:
        vault.erase(tx, ["case:A"], actor="retention", reason="retention", now_ms=T0)
    with store.statements() as tx:
        new = vault.seal(tx, "case:A", PersonalKind.MOBILE, CITIZEN)
    assert store.read(lambda tx: (Reader(tx).clear("case:A", old), Reader(tx).clear("case:A", new))) == (
        ERASED, CITIZEN)
    assert store.read(lambda tx: vault.kept_subjects(tx, ["case:A", "case:B"])) == {"case:A"}


def test_case_facts_reach_the_case_records_as_they_came_and_a_refused_one_stays_in_the_log(
        store: CentralStore) -> None:
    recorded: list[tuple[str, dict[str, Any], str]] = []

    def record(type: str, body: Any, source: str) -> None:
        if body["case_id"] == "PD-0400":
            raise EntryRejected("accepted before it was applied for")
        recorded.append((type, dict(body), source))

    store.handlers.append(CaseFactsFromHalls(record))
    ingest = receiver(store, {**CASES, "PD-0400": (HALL, "自然资源局")})
    ack = ingest.receive(f"central/{HALL}/events", HALL, batch([
        ("case.accepted", case_entry("PD-0300", "张三丰", CITIZEN)),
        ("case.accepted", case_entry("PD-0400", "李四", "13922223333")),
        ("queue.contact_given", {"day": "2026-11-23", "ticket": "A001", "window": "w03", "phone": CITIZEN}),
    ]))
    assert ack is not None and (ack.stored, ack.rejected) == (3, [])
    assert [(type, body["contact_phone"], source) for type, body, source in recorded] == [
        ("case.accepted", CITIZEN, f"hall:{HALL}")]
    assert rows(store, "SELECT count(*) FROM events WHERE type = 'case.accepted'") == [(2,)]


def test_on_postgresql_the_ingest_role_runs_the_moved_parts_with_the_documented_grants_only(
        pg_cluster: Any, pg_database: StoreUrl) -> None:
    from central.booking.checkins import BookingCheckIns
    from central.booking.store import BookingStore
    from central.queue_stats import QueueStatsProjection
    from central.ratings import RatingBook
    from central.video.directory import FootageDirectory
    from tests.central.stores import migrated
    from tests.central.test_event_store import _grants

    migrated(pg_database)
    role = f"ingest_{uuid.uuid4().hex[:8]}"
    for grant in [*_grants(role, pg_database.database or ""), *_moved_grants(role)]:
        pg_cluster.admin(grant, database=pg_database.database)
    store = SealingEventStore(pg_cluster.url(pg_database.database, user=role), SimulatedClock(T0))
    try:
        parts = [QueueStatsProjection(), RatingBook(), FootageDirectory(store)]
        for part in parts:
            part.install(store)
        store.handlers.extend([*parts, BookingCheckIns(BookingStore(store))])
        ack = receiver(store).receive(f"central/{HALL}/events", HALL, batch([
            ("case.accepted", case_entry("PD-0300", "张三丰", CITIZEN)),
            ("queue.contact_given", {"day": "2026-11-23", "ticket": "A001", "window": "w03",
                                     "phone": CITIZEN}),
        ]))
        assert ack is not None and (ack.stored, ack.rejected) == (2, [])
        with store.statements() as tx:  # an erasure: the keys go, the erasure log grows
            assert vault.erase(tx, ["case:PD-0300"], actor="office", reason="request", now_ms=T0) == [
                "case:PD-0300"]
        engine = open_engine(store.url)
        with engine.connect() as connection:  # not the tables' owner: PostgreSQL skips, and says so
            vault.forget_old_frames(connection)
        engine.dispose()
        with pytest.raises(sql_errors.ProgrammingError, match="permission denied"), \
                store.sql_transaction() as sql:
            sql.execute(text("UPDATE personal_erasures SET reason = 'nothing'"))
    finally:
        store.close()


def _moved_grants(role: str) -> list[str]:
    """The grants docs/operations.md adds for the tables of revisions 0002 and 0003."""
    return [
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON projection_cursor, tm_devices, tm_health, "
        f"tm_gateway_refusals, tm_quarantine, hall_watermarks TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON queue_segments, queue_contacts, video_cameras, "
        f"video_exports, ratings, rating_followups, bookings, complaints, complaint_holds, sms_feed_cursor "
        f"TO {role}",
        f"GRANT SELECT, INSERT, DELETE ON personal_keys, personal_index TO {role}",
        f"GRANT SELECT, INSERT ON personal_meta, personal_erasures, rating_followup_log, booking_log, "
        f"complaint_log TO {role}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}",
    ]
