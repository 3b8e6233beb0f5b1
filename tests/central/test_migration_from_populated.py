"""A migration from the previous schema on a populated PostgreSQL database: nothing lost, every
log still verifies, and the running code carries on where the old one stopped.

The database is brought to revision 0003 (the oldest at which every hash-chained log and the
tables beside them exist), filled with plain INSERTs as the code of that time wrote its rows
(hashes from `central.chain`, as that code chained them), and then `hall central migrate`
brings it to the newest revision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from click.testing import CliRunner
from sqlalchemy import Connection, text

from central import migrations
from central.booking.log import LOG as BOOKING_LOG
from central.chain import EMPTY, Head, Link, canonical_body
from central.cli import central_commands
from central.complaints import log as complaint_log
from central.complaints.log import LOG as COMPLAINT_LOG
from central.ratings.followups import FollowUps
from central.ratings.tables import FOLLOWUP_LOG
from central.store import CentralStore
from spine.clock import SimulatedClock
from spine.engines import open_engine
from spine.storeurl import StoreUrl
from tests.central.test_event_store import batch_of, envelope
from tests.pg import pg_cluster, pg_database  # noqa: F401

T0 = 1_780_000_000_000
BEFORE = "0003"
EVENTS = [envelope(seq, {"n": seq}) for seq in (1, 2, 3)]
ALARMS = [("alarm-b", "gateway"), ("alarm-a", "central"), ("alarm-c", "gateway")]
"""Three alarms of one instant, in the order they were kept (not the order of their names)."""


def _chained(rows: list[tuple[tuple[Any, ...], str]]) -> list[tuple[int, tuple[Any, ...], str, str, str]]:
    """Each (header, body text) as the log's old code chained it: position, header, body, hashes."""
    head, out = EMPTY, []
    for header, body in rows:
        link = Link.after(head, header, body)
        out.append((link.seq, header, body, link.prev_hash, link.hash))
        head = Head(link.seq, link.hash)
    return out


COMPLAINT_STEPS = _chained([
    (("TS-0001", "complaint.received", T0, "public"),
     canonical_body({"hall": "hall-01", "summary": "窗口态度"})),
    (("TS-0001", "complaint.answered", T0 + 1, "officer-1"), canonical_body({"answer": "已整改"})),
])
BOOKING_STEPS = _chained([
    (("BK-0001", "booking.confirmed", T0, "public"), canonical_body({"hall": "hall-01", "slot": "09:00"})),
    (("BK-0002", "booking.confirmed", T0 + 1, "public"),
     canonical_body({"hall": "hall-01", "slot": "09:30"})),
    (("BK-0001", "booking.cancelled", T0 + 2, "public"), canonical_body({"reason": "改期"})),
])
FOLLOWUP_STEPS = _chained([
    (("hall-01", "R-1", "opened", "system", T0), "不满意"),
    (("hall-01", "R-1", "rectified", "主任", T0 + 1), "已整改"),
])


def _populate_as_of_0003(sql: Connection) -> None:
    for e in EVENTS:
        assert e.recv is not None
        sql.execute(text(
            "INSERT INTO events (event_id, hall, device, seq, type, device_time, gateway_time, est_time, "
            "received_at, payload) "
            "VALUES (:id, 'hall-01', :device, :seq, :type, :time, :gw, :est, :at, :payload)"),
            {"id": e.id, "device": e.device, "seq": e.seq, "type": e.type, "time": e.time, "gw": e.recv.at,
             "est": e.recv.est_time, "at": T0, "payload": e.model_dump_json()})
    for alarm, refused_by in ALARMS:
        sql.execute(text("INSERT INTO security_alarms (alarm, at, refused_by, hall, reason) "
                         "VALUES (:alarm, :at, :by, 'hall-01', 'a device spoke for another')"),
                    {"alarm": alarm, "at": T0, "by": refused_by})
    for seq, (complaint, type, at, actor), body, prev, digest in COMPLAINT_STEPS:
        sql.execute(text("INSERT INTO complaint_log "
                         "VALUES (:seq, :c, :type, :at, :actor, :body, :prev, :hash)"),
                    {"seq": seq, "c": complaint, "type": type, "at": at, "actor": actor, "body": body,
                     "prev": prev, "hash": digest})
    sql.execute(text(
        "INSERT INTO complaints (id, received_at, channel, hall, summary, state, due_at) "
        "VALUES ('TS-0001', :at, 'hall', 'hall-01', '窗口态度', 'answered', :due)"),
        {"at": T0, "due": T0 + 86_400_000})
    for seq, (code, type, at, actor), body, prev, digest in BOOKING_STEPS:
        sql.execute(text("INSERT INTO booking_log "
                         "VALUES (:seq, :code, :type, :at, :actor, :body, :prev, :hash)"),
                    {"seq": seq, "code": code, "type": type, "at": at, "actor": actor, "body": body,
                     "prev": prev, "hash": digest})
    for seq, (hall, rating, action, actor, at), note, prev, digest in FOLLOWUP_STEPS:
        sql.execute(text("INSERT INTO rating_followup_log "
                         "VALUES (:id, :hall, :rating, :action, :actor, :note, :at, :prev, :hash)"),
                    {"id": seq, "hall": hall, "rating": rating, "action": action, "actor": actor,
                     "note": note, "at": at, "prev": prev, "hash": digest})
    sql.execute(text("INSERT INTO personal_erasures (subject, at, actor, reason) "
                     "VALUES ('booking:BK-0001', :at, 'officer', 'asked')"), {"at": T0})


def _dump(sql: Connection, table: str, order: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in sql.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))]


TABLES = {"events": "id", "complaint_log": "seq", "complaints": "id", "booking_log": "seq",
          "rating_followup_log": "id", "personal_erasures": "id"}


def test_a_populated_database_at_0003_migrates_to_head_keeping_every_row_and_every_chain(
        pg_database: StoreUrl, tmp_path: Path) -> None:  # noqa: F811
    engine = open_engine(pg_database)
    try:
        with engine.connect() as connection, connection.begin():
            command.upgrade(migrations.alembic_config(connection), BEFORE)
        with engine.begin() as sql:
            _populate_as_of_0003(sql)
            before = {table: _dump(sql, table, order) for table, order in TABLES.items()}
            alarms_before = _dump(sql, "security_alarms", "alarm")

        _hall_central(pg_database, tmp_path, "migrate")

        with engine.connect() as sql:
            assert migrations.current(sql) == migrations.head()
            assert {table: _dump(sql, table, order) for table, order in TABLES.items()} == before
            # 0004 numbers the alarms already there in the order the table holds them.
            kept = [tuple(row) for row in sql.execute(text(
                "SELECT alarm, at, refused_by, hall, device, kind, type, reason, quarantined, kept "
                "FROM security_alarms ORDER BY kept"))]
            assert [row[0] for row in kept] == [alarm for alarm, _ in ALARMS]
            assert sorted(row[:-1] for row in kept) == sorted(alarms_before)
            assert all(row[-1] is not None for row in kept)
            for ledger, steps in ((COMPLAINT_LOG, COMPLAINT_STEPS), (BOOKING_LOG, BOOKING_STEPS),
                                  (FOLLOWUP_LOG, FOLLOWUP_STEPS)):
                report = ledger.verify(sql)
                assert report.ok and report.checked == len(steps), (ledger.name, report)
                assert report.head == Head(len(steps), steps[-1][-1])
            assert [s["type"] for s in complaint_log.history(sql, "TS-0001")] == [
                "complaint.received", "complaint.answered"]
            assert [s["action"] for s in FollowUps.history(sql, "hall-01", "R-1")] == ["opened", "rectified"]

        # The running code carries on where the old one stopped: new steps extend the old chains.
        with engine.begin() as tx:
            assert COMPLAINT_LOG.append(tx, "TS-0001", "complaint.assigned", T0 + 9, "officer-1", {}) == 3
            assert BOOKING_LOG.append(tx, "BK-0002", "booking.checked_in", T0 + 9, "kiosk", {}) == 4
            assert FOLLOWUP_LOG.append(tx, ("hall-01", "R-1"), "called_back", T0 + 9, "主任", "满意") == 3
        with engine.connect() as sql:
            assert all(ledger.verify(sql).ok for ledger in (COMPLAINT_LOG, BOOKING_LOG, FOLLOWUP_LOG))
    finally:
        engine.dispose()

    store = CentralStore(pg_database, SimulatedClock(T0))
    try:
        assert store.commit(batch_of([envelope(4)]), []) == (1, 0)
        assert store.commit(batch_of(EVENTS), []) == (0, 3)  # the migrated events are known: resends
    finally:
        store.close()
    assert "ok: 4 events" in _hall_central(pg_database, tmp_path, "verify-events")


def _hall_central(url: StoreUrl, tmp_path: Path, command_name: str) -> str:
    """`hall central COMMAND --config` against the database, as an operator runs it."""
    secret = tmp_path / "db.password"
    secret.write_text("not-needed-with-trust\n")
    config = tmp_path / "central.toml"
    config.write_text(f'data_dir = "{tmp_path / "central"}"\n[database]\n'
                      f'url = "postgresql://{url.user}@{url.host}:{url.port}/{url.database}"\n'
                      f'password_file = "{secret}"\n')
    result = CliRunner().invoke(central_commands(), [command_name, "--config", str(config)])
    assert result.exit_code == 0, result.output
    return result.output
