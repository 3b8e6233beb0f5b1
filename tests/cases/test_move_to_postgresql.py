"""`hall central move-cases`: a case store kept in `cases.sqlite` moved into central's PostgreSQL
database as it is: the same chain, the same countdown state, the sealed data still opening and
still found by phone; a second run refused, an interrupted one refused until resumed, a
tampered file refused before anything is copied; a case whose hall's events were sealed in the
database already keeps both keys."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from central.cases import move
from central.cases.database import CasesLeftBehind, refuse_to_open
from central.cases.engine import Engine
from central.cases.move import MoveRefused, move_cases
from central.cases.store import CaseStore
from central.cases.timebase import parse_instant
from central.personal import Reader, vault
from central.personal.events import SealingEventStore, sealed_event
from contract.envelope import Envelope, Received
from contract.privacy import ERASED, PersonalKind
from hallwatch.cli import main
from spine.clock import SimulatedClock
from spine.engines import open_engine
from spine.receiver import AcceptedEvent
from spine.storeurl import StoreUrl
from tests.cases.conftest import CONTACT_PHONE, SettableClock, entry, run_sql
from tests.cases.test_open_counts import BY_CASES as OPEN_BY_CASES
from tests.cases.test_open_counts import COUNTED as OPEN_COUNTED
from tests.central.stores import migrated
from tests.pgcluster import PgCluster

CASES = 40


def _kept_in_sqlite(path: Path, clock: SettableClock) -> Engine:
    """A store as central kept it: cases in every stage, suspensions with a phone in the note,
    completions, escalations issued by ticks, an erased case, a hall's watermark."""
    engine = Engine.open(path, clock=clock)
    store = engine.store
    now = clock.set("2026-11-23T10:05")
    for i in range(CASES):
        store.submit(entry(f"MV-{i:04d}", contact_phone=f"1380000{i:04d}"), now=now)
    store.submit(entry("MV-CALL", contact_phone=CONTACT_PHONE), now=now)
    for i in range(0, CASES, 3):
        store.suspend({"case_id": f"MV-{i:04d}", "by": "李四", "at": "2026-11-24T10:00",
                       "reason": "hearing", "note": "申请人电话 139 1234 5678"},
                      now=clock.set("2026-11-24T10:05"))
    for i in range(1, CASES, 5):
        store.complete({"case_id": f"MV-{i:04d}", "by": "李四", "at": "2026-11-25T10:00"},
                       now=clock.set("2026-11-25T10:05"))
    engine.tick(clock.set("2026-12-01T09:00"))
    with store.writing():
        store.sources.advance({"hall-centre": parse_instant("2026-12-01T08:00")}, clock.now)
    with store.writing():
        store.personal.erase(["MV-0007"], actor="office", reason="a citizen's request",
                             now_ms=clock.now * 1000)
    engine.tick(clock.set("2026-12-01T10:00"))  # more falls due later: the moved store's ticks
    return engine


def _state(store: CaseStore) -> dict[str, Any]:
    """What a supervisor and the tick read: lights, every case's view, figures, the head."""
    now = parse_instant("2026-12-01T10:00")
    ids = sorted(light.case_id for light in store.lights(include_closed=True))
    return {
        "lights": [light.model_dump(mode="json") for light in store.lights(include_closed=True)],
        "cases": [store.case(case_id, now).model_dump(mode="json") for case_id in ids],
        "statistics": [figures.as_row() for figures in store.statistics(by="unit")],
        "head": store.head(),
        "sources": store.sources.states(now),
        "issued": sum(len(store.projector.issued_in_order(case_id)) for case_id in ids),
    }


def _card_counts(engine: Engine) -> tuple[list[Any], list[Any]]:
    counts = run_sql(engine, "SELECT day, hall, unit, kind, issued, disowned FROM case_card_counts"
                             " WHERE issued <> 0 OR disowned <> 0 ORDER BY 1, 2, 3, 4")
    pushed = run_sql(engine, "SELECT case_id, kind, due_at FROM case_cards_pushed ORDER BY 1, 2")
    assert counts  # the kept store's ticks issued cards
    return [tuple(row) for row in counts], [tuple(row) for row in pushed]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _database_seals_first(url: StoreUrl) -> None:
    """Central's event store sealed a complaint's phone already: the database's vault has an
    index key of its own, which the file's digests were not made with."""
    engine = open_engine(url)
    with engine.begin() as connection:
        vault.seal(connection, "complaint:1", PersonalKind.MOBILE, "13911112222")
    engine.dispose()


@pytest.fixture
def kept(tmp_path: Path, clock: SettableClock) -> tuple[Path, dict[str, Any]]:
    path = tmp_path / "cases.sqlite"
    engine = _kept_in_sqlite(path, clock)
    state = _state(engine.store)
    assert state["issued"] > 0 and state["head"].seq > 2 * CASES
    engine.close()
    return path, state


def test_a_moved_store_verifies_reads_the_same_and_lets_central_start(
        kept: tuple[Path, dict[str, Any]], pg_database: StoreUrl, clock: SettableClock) -> None:
    path, before = kept
    url = migrated(pg_database)
    _database_seals_first(url)
    file_digest = _digest(path)
    shutil.copyfile(path, path.with_name("side.sqlite"))
    side = Engine.open(path.with_name("side.sqlite"), clock=clock)  # the file's engine, going on
    with pytest.raises(CasesLeftBehind):
        refuse_to_open(url, path)

    report = move_cases(path, url, chunk=7)  # many chunks: every table crosses a boundary

    assert report.verified is not None and report.verified.ok
    assert report.counts["case_events"] == (before["head"].seq, before["head"].seq)
    assert report.counts["cases"] == (CASES + 1, CASES + 1)
    assert _digest(path) == file_digest  # only read
    refuse_to_open(url, path)  # central starts on it now
    moved = Engine.open(url, clock=clock)
    try:
        assert moved.store.verify(before["head"]).ok  # a head published before still verifies
        assert _state(moved.store) == before
        # The open counts came with the rows (the statement triggers of each chunk's insert).
        assert run_sql(moved, OPEN_COUNTED) == run_sql(moved, OPEN_BY_CASES) == run_sql(
            side, OPEN_COUNTED) != []
        # The cards' counts were kept as the rows came, chunk by chunk, issued keys before their
        # cases (revision 0014's triggers): as the file's own.
        assert _card_counts(moved) == _card_counts(side)
        # The engine's state came along: nothing was recomputed or logged as changed at opening.
        assert moved.store.head() == before["head"]
        assert moved.store.contact_phone("MV-CALL") == CONTACT_PHONE
        assert moved.store.contact_phone("MV-0007") == ERASED
        # Found by phone under the database's own index key: the request reaches the case.
        assert moved.store.personal.cases_holding("138-1234-5678") == ["MV-CALL"]
        assert moved.store.personal.cases_holding("13912345678") == [
            f"MV-{i:04d}" for i in range(0, CASES, 3)]
        assert moved.store.personal.cases_holding("13900001111") == []  # the officer's: never
        assert report.reindexed
        erased = [e["subject"] for e in vault.erasures(moved.store.connection)]
        assert erased == ["case:MV-0007"]
        # And it goes on: a tick later issues what the file's engine would have issued.
        later = clock.set("2026-12-20T09:00")
        ticked = moved.tick(later)
        assert ticked.issued and ticked == side.tick(later)
        assert moved.store.head() == side.store.head()  # the same records, the same hashes
        assert run_sql(moved, OPEN_COUNTED) == run_sql(moved, OPEN_BY_CASES) == run_sql(
            side, OPEN_COUNTED)
        assert moved.store.verify().ok
    finally:
        moved.close()
        side.close()


def test_a_second_move_is_refused_and_a_tampered_file_copies_nothing(
        kept: tuple[Path, dict[str, Any]], pg_cluster: PgCluster, pg_database: StoreUrl) -> None:
    path, before = kept
    url = migrated(pg_database)
    move_cases(path, url)
    with pytest.raises(MoveRefused, match="not empty"):
        move_cases(path, url)
    with pytest.raises(MoveRefused, match="not empty"):
        move_cases(path, url, resume=True)

    connection = sqlite3.connect(path)
    connection.execute("DROP TRIGGER case_events_no_update")
    connection.execute("UPDATE case_events SET actor = 'someone else' WHERE seq = 5")
    connection.commit()
    connection.close()
    fresh = migrated(pg_cluster.new_database())
    with pytest.raises(MoveRefused, match="first bad record 5"):
        move_cases(path, fresh)
    engine = open_engine(fresh)
    with engine.connect() as sql:
        assert sql.execute(text("SELECT count(*) FROM case_meta")).scalar() == 0
        assert sql.execute(text("SELECT count(*) FROM case_events")).scalar() == 0
    engine.dispose()


def test_an_interrupted_move_keeps_central_out_until_it_is_resumed(
        kept: tuple[Path, dict[str, Any]], pg_database: StoreUrl, clock: SettableClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    path, before = kept
    url = migrated(pg_database)
    insert_rows = move._insert_rows
    written = {"cases": 0}

    def dies_in_the_cases(sql: Any, table: Any, names: Any, rows: Any, **kw: Any) -> None:
        if table.name == "cases":
            written["cases"] += 1
            if written["cases"] == 3:  # a process killed in the middle: its chunk rolls back
                raise KeyboardInterrupt
        insert_rows(sql, table, names, rows, **kw)

    monkeypatch.setattr(move, "_insert_rows", dies_in_the_cases)
    with pytest.raises(KeyboardInterrupt):
        move_cases(path, url, chunk=10)
    monkeypatch.setattr(move, "_insert_rows", insert_rows)

    with pytest.raises(CasesLeftBehind, match="has not finished"):
        refuse_to_open(url, path)  # 20 of the 41 cases are there: central must not start
    with pytest.raises(MoveRefused, match="--resume"):
        move_cases(path, url)
    report = move_cases(path, url, resume=True, chunk=10)
    assert report.copied["case_events"] == 0  # the log was all there: it continues after it
    assert report.verified is not None and report.verified.ok
    refuse_to_open(url, path)
    moved = Engine.open(url, clock=clock)
    try:
        assert _state(moved.store) == before
        assert [e["subject"] for e in vault.erasures(moved.store.connection)] == ["case:MV-0007"]
    finally:
        moved.close()


def test_the_operator_moves_with_one_command_and_renames_the_file(
        kept: tuple[Path, dict[str, Any]], pg_database: StoreUrl) -> None:
    path, before = kept
    url = migrated(pg_database).secret_url()  # the throwaway cluster trusts its user
    result = CliRunner().invoke(main, ["central", "move-cases", "--from", str(path), "--db", url,
                                       "--rename"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"head {before['head'].seq} {before['head'].hash}" in result.output
    assert not path.exists() and path.with_name("cases.sqlite.moved").exists()
    verify = CliRunner().invoke(main, ["central", "verify", "--db", url], catch_exceptions=False)
    assert verify.exit_code == 0 and verify.output.splitlines()[-1].startswith(
        f"ok: {before['head'].seq} records")
    again = CliRunner().invoke(main, ["central", "move-cases", "--from",
                                      str(path.with_name("cases.sqlite.moved")), "--db", url])
    assert again.exit_code == 1 and "not empty" in again.output


def _hall_event_sealed_first(url: StoreUrl, case_id: str, phone: str) -> dict[str, Any]:
    """A hall's `case.accepted` for `case_id` stored by central's sealing event store in the
    database, before any case moved: its contact is sealed under the case's subject with a key
    of the database's vault. Returns the stored (sealed) body."""
    store = SealingEventStore(url, SimulatedClock())
    try:
        body = {**entry(case_id, contact_phone=phone), "contact_name": "王五"}
        envelope = Envelope(v=1, id=uuid.uuid4().hex, device="gw-hall-01", seq=1, boot="boot0001",
                            time=1, mono=0, type="case.accepted", body=body,
                            recv=Received(by="gw-hall-01", at=1))
        with store.statements() as tx:  # as `SealingEventStore.commit` seals a hall's batch
            sealed = sealed_event(tx, "hall-01", AcceptedEvent(envelope, envelope.model_dump_json(),
                                                               True))
        stored: dict[str, Any] = json.loads(sealed.payload)["body"]
        assert phone not in sealed.payload
        return stored
    finally:
        store.close()


def test_a_case_with_a_key_in_both_places_moves_and_both_open_until_it_is_erased(
        tmp_path: Path, pg_database: StoreUrl, clock: SettableClock) -> None:
    """A hall's event about MV-0003 was sealed in the database under the case's subject (key A,
    made first, so the case's oldest); the file sealed the case under its own key B. Both keys
    are kept: each token opens with the key it names, a resent entry is still the same entry
    (its digest was made with B), and erasing the case deletes both."""
    url = migrated(pg_database)
    event_phone = "13955556666"
    stored = _hall_event_sealed_first(url, "MV-0003", event_phone)
    path = tmp_path / "cases.sqlite"
    _kept_in_sqlite(path, clock).close()
    file_phone = "13800000003"

    report = move_cases(path, url)

    assert report.verified is not None and report.verified.ok and report.reindexed
    moved = Engine.open(url, clock=clock)
    events = open_engine(url)
    try:
        keys = vault.kept_keys(moved.store.connection, "case:MV-0003")
        assert len(keys) == 2  # the database's (oldest: it seals the case's new data) and the file's
        with events.connect() as sql:
            reader = Reader(sql)
            assert reader.clear("case:MV-0003", stored["contact_phone"]) == event_phone
            assert reader.clear("case:MV-0003", stored["contact_name"]) == "王五"
        assert moved.store.contact_phone("MV-0003") == file_phone
        assert moved.store.case("MV-0003").contact_phone == "138****0003"
        # A citizen's request finds the case by either number (the file's indexed again).
        assert moved.store.personal.cases_holding(event_phone) == ["MV-0003"]
        assert moved.store.personal.cases_holding(file_phone) == ["MV-0003"]
        # The hall resends the file's entry: the same entry, digested with the file's key B.
        resent = moved.store.submit(entry("MV-0003", contact_phone=file_phone),
                                    now=clock.set("2026-12-01T10:10"))
        assert resent.duplicate

        with moved.store.writing():
            erased = moved.store.personal.erase(["MV-0003"], actor="office",
                                                reason="a citizen's request", now_ms=clock.now * 1000)
        assert erased == ["case:MV-0003"]
        assert vault.kept_keys(moved.store.connection, "case:MV-0003") == []
        with events.connect() as sql:
            reader = Reader(sql)
            assert reader.clear("case:MV-0003", stored["contact_phone"]) == ERASED
            left = sql.execute(text("SELECT count(*) FROM personal_keys WHERE subject = "
                                    "'case:MV-0003'")).scalar()
            assert left == 0
        assert moved.store.contact_phone("MV-0003") == ERASED
        assert moved.store.personal.cases_holding(event_phone) == []
        assert moved.store.personal.cases_holding(file_phone) == []
        subjects = [e["subject"] for e in vault.erasures(moved.store.connection)]
        assert subjects == ["case:MV-0003", "case:MV-0007"]  # logged once, not once a key
        assert moved.store.verify().ok  # the chain is untouched: only keys went
    finally:
        events.dispose()
        moved.close()


def test_a_key_id_in_both_places_with_other_material_is_refused_before_anything_is_copied(
        kept: tuple[Path, dict[str, Any]], pg_database: StoreUrl) -> None:
    """The same key_id in the database with other material: the copy would keep the database's
    and the file's tokens under it would not open."""
    path, _before = kept
    url = migrated(pg_database)
    source = sqlite3.connect(path)
    key_id, subject = source.execute("SELECT key_id, subject FROM personal_keys LIMIT 1").fetchone()
    source.close()
    engine = open_engine(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO personal_keys (key_id, subject, key, created_at) "
                                "VALUES (:key_id, :subject, :key, 1)"),
                           {"key_id": key_id, "subject": subject, "key": b"\x00" * 32})
    with pytest.raises(MoveRefused, match=f"1 personal-data keys .*{key_id}"):
        move_cases(path, url)
    with engine.connect() as sql:
        assert sql.execute(text("SELECT count(*) FROM case_meta")).scalar() == 0
        assert sql.execute(text("SELECT count(*) FROM personal_keys")).scalar() == 1
    engine.dispose()
