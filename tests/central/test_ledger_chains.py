"""One `Ledger` for central's hash-chained logs: each log keeps the table, the rows and the hashes
it had when it was a copy of its own, on a SQLite file and on PostgreSQL.

The schemas and hashes below were taken from the logs' own code before they shared
`central.ledger` (files and databases written then must keep working and verifying)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from central.anomalies.book import LOG as ANOMALY_LOG
from central.booking.log import LOG as BOOKING_LOG
from central.chain import GENESIS, Head, canonical_body, link_hash
from central.complaints.log import LOG as COMPLAINT_LOG
from central.ledger import Layout, Ledger, ledger_lock_key
from central.projects.desk import LOG as PROJECT_LOG
from central.ratings.tables import FOLLOWUP_LOG
from spine.engines import open_engine
from spine.storeurl import StoreUrl
from tests.pg import pg_cluster, pg_database, store_url  # noqa: F401

T0 = 1_764_633_600_000


def _standard(table: str, subject: str, what: str) -> str:
    return f"""
CREATE TABLE IF NOT EXISTS {table} (
    seq INTEGER PRIMARY KEY,
    {subject} TEXT NOT NULL,
    type TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS {table}_by_{subject} ON {table} ({subject}, seq);
CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
    BEGIN SELECT RAISE(ABORT, '{what} is append-only'); END;
CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
    BEGIN SELECT RAISE(ABORT, '{what} is append-only'); END;
"""


BEFORE = {
    "anomaly_log": _standard("anomaly_log", "subject", "the anomaly log"),
    "project_log": _standard("project_log", "subject", "the project log"),
    "booking_log": _standard("booking_log", "code", "the booking log"),
    "complaint_log": _standard("complaint_log", "complaint", "the complaint log"),
    "rating_followup_log": """
CREATE TABLE IF NOT EXISTS rating_followup_log (
    id INTEGER PRIMARY KEY,
    hall TEXT NOT NULL,
    rating TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL,
    at INTEGER NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS rating_followup_log_no_update BEFORE UPDATE ON rating_followup_log
    BEGIN SELECT RAISE(ABORT, 'the follow-up log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS rating_followup_log_no_delete BEFORE DELETE ON rating_followup_log
    BEGIN SELECT RAISE(ABORT, 'the follow-up log is append-only'); END;
""",
}
"""Each log's SQLite schema as its own module wrote it before `central.ledger` served them all."""

LEDGERS = {ledger.name: ledger
           for ledger in (ANOMALY_LOG, PROJECT_LOG, BOOKING_LOG, COMPLAINT_LOG, FOLLOWUP_LOG)}
IN_THE_EVENT_STORE = ("booking_log", "complaint_log", "rating_followup_log")
"""The logs the event store keeps, on SQLite or PostgreSQL (the other two live in supervision.sqlite)."""

Steps = list[tuple[object, str, int, str, object]]
STEPS: dict[str, Steps] = {
    "anomaly_log": [("AN20261202-0001", "anomaly.raised", T0, "central", {"rule": "r", "窗口": "A01"}),
                    ("AN20261202-0001", "anomaly.closed", T0 + 100_000, "张三", {"finding": "confirmed"})],
    "booking_log": [("BK-0001", "booking.confirmed", T0, "public", {"slot": "09:00", "窗口": "A01"}),
                    ("BK-0001", "booking.cancelled", T0 + 100_000, "public", {"reason": "改期"})],
    "complaint_log": [("TS-0001", "complaint.received", T0, "public", {"summary": "态度", "hall": "hall-01"}),
                      ("TS-0001", "complaint.answered", T0 + 100_000, "officer-1", {"answer": "已整改"})],
    "rating_followup_log": [(("hall-01", "R-1"), "opened", T0, "system", "不满意"),
                            (("hall-01", "R-1"), "rectified", T0 + 100_000, "主任", "已整改 138****0000")],
}
HASHES = {
    "anomaly_log": ("1e47fbbce770d6e4e5e38080a54a810fc208e602d4a33ca5e8748c4fc2804011",
                    "5090cd344ccdb38edeea1943ea51cd2a93886a955b945ac6a9921c1a593d07c8"),
    "booking_log": ("7980eaed5bc8b908c2113ab585e851c2d78223209e1f910b26678d5555ec50db",
                    "a982d7aea43e3ca7cd2d54ac905000a7985d73b13a714d7074fc7d1be6537b67"),
    "complaint_log": ("17d812f0e798ee0b2f37823e29415744fa12fcd1e9105826876962fe505a519b",
                      "612b58b87381db65fe70adc65d28277c51e4f5cf4213747985fc16c619e4b3db"),
    "rating_followup_log": ("14392d3d36abd77ec5782f9934086951cf3847a5602f43ae605ba2fd0231b6e8",
                            "adab568e4908ff19af1c0dc4558ee25b2b2f9bcb75ee797b2a702e357fe183c6"),
}
"""The hashes the logs' own code gave these steps before they shared `central.ledger`."""


def _master(schema: str) -> set[tuple[str, str, str]]:
    connection = sqlite3.connect(":memory:")
    connection.executescript(schema)
    found = {tuple(row) for row in connection.execute("SELECT type, name, sql FROM sqlite_master")}
    connection.close()
    return found  # type: ignore[return-value]


@pytest.fixture
def event_store(store_url: StoreUrl) -> Iterator[Engine]:  # noqa: F811
    """The event store's database with the logs' tables (a SQLite file makes them itself, as the
    stores do; PostgreSQL has them from the migrations)."""
    if store_url.is_sqlite:
        assert store_url.path is not None
        with sqlite3.connect(store_url.path) as connection:
            connection.executescript("".join(LEDGERS[name].schema for name in IN_THE_EVENT_STORE))
        connection.close()
    engine = open_engine(store_url)
    yield engine
    engine.dispose()


def _append_all(engine: Engine, ledger: Ledger, steps: Steps) -> list[int]:
    with engine.begin() as tx:
        return [ledger.append(tx, subject, type, at, actor, body)  # type: ignore[arg-type]
                for subject, type, at, actor, body in steps]


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_each_log_makes_the_sqlite_table_index_and_triggers_it_made_before(name: str) -> None:
    assert _master(LEDGERS[name].schema) == _master(BEFORE[name])


def test_the_anomaly_log_chains_the_same_hashes_as_before() -> None:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.executescript(ANOMALY_LOG.schema)
    for subject, type, at, actor, body in STEPS["anomaly_log"]:
        ANOMALY_LOG.append(connection, str(subject), type, at, actor, body)  # type: ignore[arg-type]
    assert tuple(row[0] for row in connection.execute("SELECT hash FROM anomaly_log ORDER BY seq")) == \
        HASHES["anomaly_log"]
    assert ANOMALY_LOG.verify(connection).ok


@pytest.mark.parametrize("name", IN_THE_EVENT_STORE)
def test_each_log_of_the_event_store_chains_the_same_hashes_as_before_on_both_databases(
        event_store: Engine, name: str) -> None:
    ledger = LEDGERS[name]
    assert _append_all(event_store, ledger, STEPS[name]) == [1, 2]
    with event_store.connect() as read:
        report = ledger.verify(read)
        hashes = tuple(row[-1] for row in read.execute(ledger.table.select().order_by(
            ledger.table.c[ledger.layout.position])))
    assert hashes == HASHES[name]
    assert report.ok and report.head == Head(2, HASHES[name][1])


def test_the_hash_covers_position_then_every_column_in_table_order_but_the_body_then_the_body() -> None:
    subject, type, at, actor, note = STEPS["rating_followup_log"][0]
    assert FOLLOWUP_LOG.layout.header == ("hall", "rating", "action", "actor", "at")
    assert link_hash(GENESIS, (1, "hall-01", "R-1", type, actor, at), str(note)) == \
        HASHES["rating_followup_log"][0]
    code, type, at, actor, body = STEPS["booking_log"][0]
    assert BOOKING_LOG.layout.header == ("code", "type", "at", "actor")
    assert link_hash(GENESIS, (1, code, type, at, actor), canonical_body(body)) == HASHES["booking_log"][0]  # type: ignore[arg-type]


@pytest.mark.parametrize("name", IN_THE_EVENT_STORE)
def test_a_record_reads_back_its_steps_and_a_feed_reads_the_steps_of_its_types_up_to_the_head_it_read(
        event_store: Engine, name: str) -> None:
    ledger = LEDGERS[name]
    first, second = STEPS[name]
    other = (("hall-02", "R-9") if isinstance(first[0], tuple) else "X-0002", *first[1:])
    _append_all(event_store, ledger, [first, other, second])
    with event_store.connect() as read:
        steps = ledger.steps(read, first[0])  # type: ignore[arg-type]
        head = ledger.head(read)
        told = ledger.after(read, 0, 2, (first[1], second[1]), 10)
        later = ledger.after(read, 1, head, (second[1],), 10)
        limited = ledger.after(read, 0, head, (first[1], second[1]), 1)
    key = first[0] if isinstance(first[0], tuple) else (first[0],)
    assert [(s.seq, s.subject, s.type, s.at, s.actor) for s in steps] == [
        (1, key, first[1], first[2], first[3]), (3, key, second[1], second[2], second[3])]
    assert head == 3
    assert [s.seq for s in told] == [1, 2]
    assert [s.seq for s in later] == [3] and [s.seq for s in limited] == [1]
    text = steps[0].text
    assert text == (first[4] if isinstance(first[4], str) else canonical_body(first[4]))  # type: ignore[arg-type]


def test_an_empty_log_has_head_zero_and_verifies_with_the_genesis_head(event_store: Engine) -> None:
    with event_store.connect() as read:
        assert COMPLAINT_LOG.head(read) == 0
        report = COMPLAINT_LOG.verify(read)
    assert report.ok and report.head == Head(0, GENESIS)


def test_a_step_naming_its_record_with_the_wrong_number_of_columns_is_refused(event_store: Engine) -> None:
    with pytest.raises(ValueError, match="named by"), event_store.begin() as tx:
        FOLLOWUP_LOG.append(tx, "hall-01", "opened", T0, "system", "note")


def test_a_layout_that_misses_a_role_or_names_a_column_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="names each of"):
        Layout(order=("subject", "type", "at", "actor"))
    with pytest.raises(ValueError, match="named twice"):
        Layout(subject=("type",))
    with pytest.raises(ValueError, match="not a table name"):
        Ledger("drop table x; --", "a log")


def test_each_ledger_has_its_own_lock_key_stable_across_processes() -> None:
    keys = {name: ledger.lock_key for name, ledger in LEDGERS.items()}
    assert len(set(keys.values())) == len(keys)
    assert keys["complaint_log"] == ledger_lock_key("complaint_log") == -4201251104175145428


def test_a_long_log_is_verified_page_by_page_as_it_is_in_one_go(event_store: Engine) -> None:
    steps: Steps = [(f"TS-{n:04d}", "complaint.received", T0 + n, "public", {"n": n}) for n in range(1, 26)]
    _append_all(event_store, COMPLAINT_LOG, steps)
    with event_store.connect() as read:
        paged, whole = COMPLAINT_LOG.verify(read, page=10), COMPLAINT_LOG.verify(read)
        exact = COMPLAINT_LOG.verify(read, page=5)
    assert paged == whole == exact and whole.ok and whole.checked == 25


def test_a_changed_row_on_a_later_page_and_a_row_slipped_in_before_the_first_are_named(
        tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "events.sqlite", isolation_level=None)
    connection.executescript(COMPLAINT_LOG.schema)
    for n in range(1, 26):
        COMPLAINT_LOG.append(connection, f"TS-{n:04d}", "complaint.received", T0 + n, "public", {"n": n})
    connection.execute("DROP TRIGGER complaint_log_no_update")
    connection.execute("UPDATE complaint_log SET body = '{\"n\":0}' WHERE seq = 17")
    report = COMPLAINT_LOG.verify(connection, page=10)
    assert (report.ok, report.first_bad, report.checked) == (False, 17, 16)

    connection.execute("INSERT INTO complaint_log SELECT 0, complaint, type, at, actor, body, prev_hash, "
                       "hash FROM complaint_log WHERE seq = 1")
    report = COMPLAINT_LOG.verify(connection, page=10)
    assert (report.ok, report.first_bad, report.problem) == (False, 1, "record 1 is missing (next is 0)")
    connection.close()
