"""Central's event store, the same specification on SQLite and on PostgreSQL: each event once, as
first stored; refused facts kept and raised; the log append-only and verifiable."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc as sql_errors
from sqlalchemy import text

from central import migrations
from central.store import EVENT_LOG, CentralStore, SqliteOnly
from contract.envelope import Batch, Envelope, Received
from spine.clock import SimulatedClock
from spine.handlers import HandlerContext
from spine.receiver import AcceptedEvent, DeadLetter, IncomingBatch
from spine.statement import Statement
from spine.storeurl import StoreUrl
from tests.central.stores import migrated

T0 = 1_780_000_000_000
GATEWAY = "gw-hall-01"


@pytest.fixture
def store(store_url: StoreUrl) -> Iterator[CentralStore]:
    store = CentralStore(store_url, SimulatedClock(T0))
    yield store
    store.close()


def envelope(seq: int, body: dict[str, Any] | None = None) -> Envelope:
    return Envelope(v=1, id=uuid.uuid4().hex, device=GATEWAY, seq=seq, boot="boot0001", time=T0 + seq,
                    mono=0, type="gateway.heartbeat", body=body or {"n": seq},
                    recv=Received(by=GATEWAY, at=T0 + seq, est_time=T0 + seq))


def batch_of(envelopes: list[Envelope], dead: int = 0) -> IncomingBatch:
    batch = Batch(v=1, batch=uuid.uuid4().hex, sender=GATEWAY, boot="boot0001", sent_at=0, sent_mono=0,
                  events=[e.model_dump() for e in envelopes])
    return IncomingBatch(topic="central/hall-01/events", batch=batch, received_at=0,
                         events=[AcceptedEvent(e, e.model_dump_json(), True) for e in envelopes])


def rows(store: CentralStore, sql: str) -> list[tuple[Any, ...]]:
    statement = Statement(lambda _dialect: text(sql))
    return [tuple(row) for row in store.read(lambda tx: statement.run(tx).fetchall())]


def test_each_event_is_kept_once_as_first_stored_and_the_stream_advances(store: CentralStore) -> None:
    first, second = envelope(1), envelope(2)
    assert store.commit(batch_of([first, second]), []) == (2, 0)
    edited = first.model_copy(update={"body": {"n": 99}})
    assert store.commit(batch_of([edited]), []) == (0, 1)  # a resend, whatever changed since

    stored = rows(store, "SELECT event_id, hall, device, seq, type, gateway_time, received_at, payload "
                         "FROM events ORDER BY id")
    assert [(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in stored] == [
        (first.id, "hall-01", GATEWAY, 1, "gateway.heartbeat", T0 + 1, T0),
        (second.id, "hall-01", GATEWAY, 2, "gateway.heartbeat", T0 + 2, T0),
    ]
    assert json.loads(stored[0][7])["body"] == {"n": 1}
    assert store.stream_position(GATEWAY) is None  # these batches named no position
    assert store.verify().ok and store.verify().checked == 2


def test_a_batch_is_appended_together_in_its_order_and_each_copy_in_it_counts_once(
        store: CentralStore) -> None:
    envelopes = [envelope(seq) for seq in range(1, 61)]
    assert store.commit(batch_of(envelopes[:10]), []) == (10, 0)

    # A resend of the first ten beside fifty new ones, one of them twice.
    assert store.commit(batch_of(envelopes + [envelopes[30]]), []) == (50, 11)

    assert rows(store, "SELECT seq FROM events ORDER BY id") == [(seq,) for seq in range(1, 61)]


def test_an_event_appended_again_past_the_batch_question_is_refused_never_a_second_row(
        store: CentralStore) -> None:
    # On PostgreSQL a batch's new events go in by COPY, which has no ON CONFLICT: the unique
    # index on event_id is what keeps out a copy that slipped past `held`, and the batch fails
    # whole. SQLite's INSERT skips it (`EventLog.add` checks its count there).
    first, second = envelope(1), envelope(2)
    store.commit(batch_of([first]), [])
    again = {"hall": "hall-01", "device": GATEWAY, "seq": 1, "type": "gateway.heartbeat",
             "device_time": T0, "received_at": T0, "payload": "{}"}
    refused = False
    try:
        with store.sql_transaction() as sql:
            EVENT_LOG.add_all(sql, [(second.id, again), (first.id, again)])
    except sql_errors.IntegrityError:
        refused = True
    assert refused == (store.dialect == "postgresql")
    expected = [(first.id,)] if refused else [(first.id,), (second.id,)]
    assert rows(store, "SELECT event_id FROM events ORDER BY id") == expected


def test_a_refused_fact_is_kept_once_per_content_and_raised_as_an_alarm_each_time(
        store: CentralStore) -> None:
    raised: list[str] = []
    store.alarmed = lambda alarm: raised.append(alarm.alarm)
    payload = json.dumps({"device": "kiosk-07", "recv": {"kind": "kiosk"}}).encode()
    letter = DeadLetter(topic="central/hall-01/events", sender=GATEWAY, reason="not its hall",
                        payload=payload, event_id="e-1", alarm=True, event_type="queue.ticket_issued")
    store.dead_letter(letter)
    store.dead_letter(letter)

    assert rows(store, "SELECT times, sender, reason FROM dead_letters") == [(2, GATEWAY, "not its hall")]
    assert rows(store, "SELECT hall, device, kind, type, refused_by FROM security_alarms") == [
        ("hall-01", "kiosk-07", "kiosk", "queue.ticket_issued", "central")] * 2
    assert len(set(raised)) == 2


def test_a_hall_status_without_a_heartbeat_keeps_the_last_one_heard(store: CentralStore) -> None:
    store.set_hall_status("hall-01", True, None, '{"load": 1}')
    store.set_hall_status("hall-01", False, "will", None)
    assert rows(store, "SELECT hall, online, reason, last_seen, heartbeat FROM hall_status") == [
        ("hall-01", 0, "will", T0, '{"load": 1}')]


@pytest.mark.parametrize("statement", ["UPDATE events SET payload = '{}'", "DELETE FROM events"])
def test_the_log_refuses_to_change_a_stored_event(store: CentralStore, statement: str) -> None:
    store.commit(batch_of([envelope(1)]), [])
    with pytest.raises(sql_errors.DBAPIError, match="append-only"), store.sql_transaction() as sql:
        sql.execute(text(statement))
    assert rows(store, "SELECT count(*) FROM events") == [(1,)]


def test_verify_names_the_edited_row_once_the_guard_is_gone(store: CentralStore) -> None:
    kept, edited = envelope(1), envelope(2)
    store.commit(batch_of([kept, edited]), [])
    drop = ("DROP TRIGGER events_no_update" if store.dialect == "sqlite"
            else "DROP TRIGGER events_append_only ON events")
    with store.sql_transaction() as sql:
        sql.execute(text(drop))
    assert not store.verify().ok
    assert "guard is gone" in (store.verify().problem or "")

    with store.sql_transaction() as sql:
        sql.execute(text("UPDATE events SET seq = 7 WHERE event_id = :id"), {"id": edited.id})
    report = _check_rows_only(store)
    assert report.first_bad == edited.id and report.checked == 1


def _check_rows_only(store: CentralStore) -> Any:
    """The row check alone (the guard is already known gone)."""
    from central import eventcheck

    return store.read(lambda tx: eventcheck.check_events(
        tx, store.dialect, guards=False))


def test_on_postgresql_the_parts_still_written_for_sqlite_are_refused_with_the_reason(
        pg_database: StoreUrl) -> None:
    store = CentralStore(migrated(pg_database), SimulatedClock(T0))
    try:
        with pytest.raises(SqliteOnly, match="Central on PostgreSQL"):
            store.query("SELECT count(*) FROM events")

        class Projection:
            def handle(self, context: HandlerContext, event: object) -> None:
                context.tx.execute("INSERT INTO tm_sqlite_only VALUES (1)")

        store.handlers.append(Projection())
        with pytest.raises(SqliteOnly, match="Central on PostgreSQL"):
            store.commit(batch_of([envelope(1)]), [])
        assert rows(store, "SELECT count(*) FROM events") == [(0,)]  # the batch is not acknowledged
    finally:
        store.close()


def test_on_postgresql_a_database_not_migrated_is_refused(pg_database: StoreUrl) -> None:
    with pytest.raises(migrations.SchemaNotCurrent, match="hall central migrate"):
        CentralStore(pg_database, SimulatedClock(T0))


def test_on_postgresql_the_ingest_role_may_append_and_read_but_never_change_the_log(
        pg_cluster: Any, pg_database: StoreUrl) -> None:
    migrated(pg_database)
    role = f"ingest_{uuid.uuid4().hex[:8]}"
    for grant in _grants(role, pg_database.database or ""):
        pg_cluster.admin(grant, database=pg_database.database)
    store = CentralStore(pg_cluster.url(pg_database.database, user=role), SimulatedClock(T0))
    try:
        assert store.commit(batch_of([envelope(1)]), []) == (1, 0)
        with pytest.raises(sql_errors.ProgrammingError, match="permission denied"), \
                store.sql_transaction() as sql:
            sql.execute(text("UPDATE events SET payload = '{}'"))
    finally:
        store.close()


def _grants(role: str, database: str) -> list[str]:
    """The grants docs/operations.md gives central's ingest role ("Central on PostgreSQL")."""
    return [
        f"CREATE ROLE {role} LOGIN",
        f'GRANT CONNECT ON DATABASE "{database}" TO {role}',
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT ON events TO {role}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE ON hall_status, dead_letters, streams, security_alarms TO {role}",
        f"GRANT SELECT ON alembic_version TO {role}",
    ]


def test_hall_central_migrate_then_verify_events_on_the_configured_store_never_shows_the_password(
        store_url: StoreUrl, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from central.cli import central_commands

    secret = tmp_path / "db.password"
    secret.write_text("s3cret-pw\n")
    database = ("" if store_url.is_sqlite else
                f'[database]\nurl = "postgresql://{store_url.user}@{store_url.host}:{store_url.port}/'
                f'{store_url.database}"\npassword_file = "{secret}"\n')
    config = tmp_path / "central.toml"
    config.write_text(f'data_dir = "{tmp_path / "central"}"\n{database}')
    commands = central_commands()

    for args in (["migrate"], ["migrate"], ["verify-events"]):  # migrating twice changes nothing
        result = CliRunner().invoke(commands, [*args, "--config", str(config)])
        assert result.exit_code == 0, result.output
        assert "s3cret-pw" not in result.output
    assert "ok: 0 events" in result.output
    if not store_url.is_sqlite:
        assert "hall:***@" in result.output
