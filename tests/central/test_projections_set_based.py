"""A batch projected set-based (its visits read at once, its writes at its end) leaves the same
rows as the same events projected one batch each, on SQLite and on PostgreSQL: visits whose
events span two batches, a transfer, a call-back, a lost ticket rebuilt from its call, ratings
(a bad one opens a follow-up once) and events delivered twice. And each process moves a
cursor row of its own, which `install` gathers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from central.queue_stats import QueueStatsProjection
from central.ratings import RatingBook
from central.store import CentralStore
from contract.envelope import Batch, Envelope, Received
from spine.clock import SimulatedClock
from spine.receiver import AcceptedEvent, IncomingBatch
from spine.statement import SetWrite, Statement
from spine.storeurl import StoreUrl
from tests.central.events import GATEWAY, deliver
from tests.pg import migrated

HALL = "hall-01"
T0 = 1_795_399_200_000  # 2026-11-23 10:00 +08:00
MINUTE = 60_000
DAY = {"day": "2026-11-23"}
Event = tuple[str, dict[str, Any], int]


def called(ticket: str, minutes: int, *, service: str = "A", window: str = "3") -> Event:
    return ("queue.called", {**DAY, "ticket": ticket, "service": service, "window": window, "officer": "1001",
                             "at": T0 + minutes * MINUTE, "issued_at": T0, "waiting_since": T0},
            T0 + minutes * MINUTE)


def ended(type: str, ticket: str, minutes: int, **more: Any) -> Event:
    return (type, {**DAY, "ticket": ticket, "window": "3", "at": T0 + minutes * MINUTE, **more},
            T0 + minutes * MINUTE)


def rated(rating: str, grade: str, ticket: str) -> Event:
    return ("rating.recorded", {
        "hall": HALL, "window": "3", "officer": "1001", "officer_name": None, "department": "civil",
        "service": "A", "visit": {**DAY, "ticket": ticket}, "how": "visit", "rating": rating,
        "terminal": "rating-w3", "grade": grade, "rated_at": T0, "source_event": "e" * 32}, T0)


FIRST: list[Event] = [
    ("queue.ticket_issued", {**DAY, "ticket": "A001", "service": "A"}, T0),
    ("queue.ticket_issued", {**DAY, "ticket": "B001", "service": "B"}, T0),
    ("queue.ticket_issued", {**DAY, "ticket": "A002", "service": "A"}, T0),
    ("queue.ticket_issued", {**DAY, "ticket": "A002", "service": "A"}, T0 + 1),  # issued twice
    called("A001", 5),
    called("B001", 20, service="B", window="5"),
    ended("queue.transferred", "B001", 25, active_ms=5 * MINUTE, to_service="A"),
    called("A009", 30),  # its ticket never reached central: rebuilt from the call
    ("queue.recalled", {**DAY, "ticket": "A001", "window": "3", "at": T0 + 6 * MINUTE}, T0 + 6 * MINUTE),
]
SECOND: list[Event] = [
    called("A001", 12),  # a call-back after parking keeps the first call
    ended("queue.served", "A001", 15, service_ms=3 * MINUTE),
    called("B001", 40),  # the transferred visit's second segment, in the next batch
    ended("queue.served", "B001", 45, service_ms=5 * MINUTE),
    ended("queue.no_show", "A002", 50),
    ("queue.ticket_voided", {**DAY, "ticket": "A009"}, T0 + 55 * MINUTE),
    ("queue.recalled", {**DAY, "ticket": "A404", "window": "3", "at": T0}, T0),  # no such visit
    rated("r-1", "very_dissatisfied", "A001"),
    rated("r-1", "very_dissatisfied", "A001"),  # the same rating twice: one row, one follow-up
    rated("r-2", "satisfied", "B001"),
]

_TABLES = {
    "queue_segments": "hall, day, ticket, seq, service, issued_at, waiting_since, called_at, \"window\", "
                      "officer, recalls, ended_at, outcome, service_ms",
    "queue_month_figures": "*",
    "ratings": "hall, rating, terminal, \"window\", officer, grade, rated_at, how",
    "rating_followups": "hall, rating, state",
}


def rows(store: CentralStore) -> dict[str, list[Any]]:
    def read(tx: Any) -> dict[str, list[Any]]:
        return {table: [tuple(row) for row in Statement(lambda _d, t=table, c=columns: text(
            f"SELECT {c} FROM {t} ORDER BY 1, 2, 3")).run(tx).fetchall()]
            for table, columns in _TABLES.items()}
    return store.read(read)


def projected(url: StoreUrl, batches: list[list[Event]]) -> CentralStore:
    store = CentralStore(url, SimulatedClock(T0))
    for projection in (QueueStatsProjection(), RatingBook()):
        projection.install(store)
        store.handlers.append(projection)
    for batch in batches:
        deliver(store, HALL, batch)
    return store


@pytest.fixture
def two_stores(store_url: StoreUrl, request: pytest.FixtureRequest, tmp_path: Path
               ) -> Iterator[tuple[StoreUrl, StoreUrl]]:
    """Two fresh stores on the same database server (or two SQLite files)."""
    second = StoreUrl.sqlite_file(tmp_path / "other.sqlite") if store_url.is_sqlite \
        else migrated(request.getfixturevalue("pg_cluster").new_database())
    yield store_url, second


def test_a_batch_projected_set_based_leaves_what_the_events_one_by_one_leave(
        two_stores: tuple[StoreUrl, StoreUrl]) -> None:
    together_url, one_by_one_url = two_stores
    together = projected(together_url, [FIRST, SECOND, FIRST[:2]])  # the last: ticket events again
    one_by_one = projected(one_by_one_url, [[event] for event in FIRST + SECOND + FIRST[:2]])
    try:
        kept = rows(together)
        assert kept == rows(one_by_one)
        segments = {(t, seq): (called_at, outcome, recalls)
                    for _h, _d, t, seq, _s, _i, _w, called_at, _win, _o, recalls, _e, outcome, _ms
                    in kept["queue_segments"]}
        assert segments == {
            ("A001", 1): (T0 + 5 * MINUTE, "served", 1), ("A002", 1): (None, "no_show", 0),
            ("A009", 1): (T0 + 30 * MINUTE, "voided", 0), ("B001", 1): (T0 + 20 * MINUTE, "transferred", 0),
            ("B001", 2): (T0 + 40 * MINUTE, "served", 0)}
        assert [row[:2] for row in kept["rating_followups"]] == [(HALL, "r-1")]
        # The month's sums are the segments' (each visit's difference added once per batch).
        (a_month, b_month) = kept["queue_month_figures"]
        # B001's second wait: from when its call says it began waiting.
        assert a_month[:8] == ("2026-11", HALL, "A", 4, 3, 2, 1, (5 + 30 + 40) * MINUTE)
        assert b_month[:8] == ("2026-11", HALL, "B", 1, 1, 0, 0, 20 * MINUTE)
    finally:
        together.close()
        one_by_one.close()


_CURSORS = Statement(lambda _dialect: text("SELECT name, last_id FROM projection_cursor ORDER BY name"))
_NEWEST = Statement(lambda _dialect: text("SELECT max(id) FROM events"))


def test_each_process_moves_its_own_cursor_row_and_install_gathers_them(store_url: StoreUrl) -> None:
    first, second = projected(store_url, []), projected(store_url, [])
    try:
        deliver(first, HALL, FIRST)
        deliver(second, "hall-02", SECOND)
        cursors = dict(first.read(lambda tx: _CURSORS.run(tx).fetchall()))
        newest = first.read(lambda tx: _NEWEST.run(tx).fetchone()[0])
        holders = {name: last for name, last in cursors.items() if name.startswith("queue_stats@")}
        # Two rows, one a process: neither batch waited for the other's row.
        assert sorted(holders.values()) == [len(FIRST), newest]
        # A restart: nothing to replay (no visit counted twice), the rows gathered into one.
        before = rows(first)
        QueueStatsProjection().install(first)
        assert rows(first) == before
        cursors = dict(first.read(lambda tx: _CURSORS.run(tx).fetchall()))
        assert cursors["queue_stats"] == newest
        assert not [name for name in cursors if name.startswith("queue_stats@")]
    finally:
        first.close()
        second.close()


class _FailsOnce:
    """A handler after the projections that breaks the batch it first sees a no-show in, as a
    process killed in the middle of it would: the transaction rolls back."""

    def __init__(self) -> None:
        self.failed = False

    def handle(self, _context: Any, event: Any) -> None:
        if event.envelope.type == "queue.no_show" and not self.failed:
            self.failed = True
            raise RuntimeError("killed in the middle of the batch")


def test_a_batch_that_rolls_back_leaves_no_segment_no_sum_and_no_cursor_and_its_resend_counts_once(
        store_url: StoreUrl) -> None:
    store = projected(store_url, [FIRST])
    store.handlers.append(_FailsOnce())
    try:
        before = (rows(store), dict(store.read(lambda tx: _CURSORS.run(tx).fetchall())))
        batch = [("queue.recalled", {**DAY, "ticket": "A001", "window": "3", "at": T0 + 7 * MINUTE},
                  T0 + 7 * MINUTE), *SECOND]
        with pytest.raises(RuntimeError):
            deliver(store, HALL, batch)
        assert (rows(store), dict(store.read(lambda tx: _CURSORS.run(tx).fetchall()))) == before
        deliver(store, HALL, batch)  # resent: what the failed batch held in memory is forgotten
        QueueStatsProjection().install(store)  # and a restart replays nothing
        kept = rows(store)
        assert [recalls for *_, recalls, _e, _o, _ms in kept["queue_segments"]] == [2, 0, 0, 0, 0]
        (a_month, _b_month) = kept["queue_month_figures"]
        assert a_month[3:8] == (4, 3, 2, 1, (5 + 30 + 40) * MINUTE)
    finally:
        store.close()


ODD: list[Event] = [
    # Text JSON must carry exactly: Han characters, quotes, a backslash, a NUL-free control
    # character, an empty string; numbers past a double's 53 bits; missing values as NULL.
    ("queue.ticket_issued", {**DAY, "ticket": "C\"1\\", "service": "不动产登记"}, T0),
    ("queue.called", {**DAY, "ticket": "C\"1\\", "service": "不动产登记", "window": "窗口 7\t",
                      "officer": "", "at": 9_007_199_254_740_993, "issued_at": T0, "waiting_since": T0},
     T0),
    ("rating.recorded", {
        "hall": HALL, "window": None, "officer": "1001", "officer_name": "张三 \"老张\"",
        "department": "民政\\局", "service": None, "visit": {**DAY, "ticket": "C\"1\\"}, "how": "visit",
        "rating": "r-é", "terminal": "rating-w3", "grade": "satisfied", "rated_at": 9_007_199_254_740_993,
        "source_event": "e" * 32}, T0),
]
ODD.append((ODD[-1][0], {**ODD[-1][1], "rated_at": T0, "grade": "very_satisfied"}, T0))
"""The odd rating again in the same batch: the first copy is the one kept."""


def _same_envelopes(batches: list[list[Event]]) -> list[list[Envelope]]:
    """The events as envelopes with fixed ids, so that two stores are given the very same events."""
    return [[Envelope(v=1, id=f"{b:04d}{i:028d}", device=GATEWAY, seq=1, boot="boot0001", time=at, mono=0,
                      type=type, body=body, recv=Received(by=GATEWAY, at=at, est_time=at))
             for i, (type, body, at) in enumerate(batch)] for b, batch in enumerate(batches)]


def _commit(store: CentralStore, envelopes: list[Envelope]) -> None:
    batch = Batch(v=1, batch=uuid.uuid4().hex, sender=GATEWAY, boot="boot0001", sent_at=0, sent_mono=0,
                  events=[e.model_dump() for e in envelopes])
    store.commit(IncomingBatch(topic=f"central/{HALL}/events", batch=batch, received_at=0,
                               events=[AcceptedEvent(e, e.model_dump_json(), True) for e in envelopes]), [])


def every_row(store: CentralStore) -> dict[str, list[Any]]:
    """Every column of every row the projections write, and each projection's cursor."""
    tables = {"queue_segments": 4, "queue_month_figures": 3, "ratings": 2, "rating_followups": 2}

    def read(tx: Any) -> dict[str, list[Any]]:
        found = {table: [tuple(row) for row in Statement(lambda _d, t=table, n=keys: text(
            f"SELECT * FROM {t} ORDER BY {', '.join(str(k) for k in range(1, n + 1))}")).run(tx).fetchall()]
            for table, keys in tables.items()}
        cursors: dict[str, int] = {}
        for name, last_id in _CURSORS.run(tx).fetchall():
            projection = name.split("@")[0]
            cursors[projection] = max(cursors.get(projection, 0), last_id)
        return {**found, "cursors": sorted(cursors.items())}
    return store.read(read)


def test_the_set_based_statements_write_exactly_the_rows_the_per_row_statements_wrote(
        two_stores: tuple[StoreUrl, StoreUrl], monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL a batch's segments, ratings and cursors go as one statement each (the rows as
    one JSON array, `SetWrite`); before, each row was its own statement (`executemany`). Both
    leave the same rows, to the last column, odd texts and large numbers included."""
    set_based_url, per_row_url = two_stores
    batches = _same_envelopes([FIRST, SECOND, ODD, FIRST[:2] + ODD[2:]])
    sent: list[str] = []
    set_based = projected(set_based_url, [])
    event.listen(set_based._engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_rest: sent.append(statement))
    for envelopes in batches:
        _commit(set_based, envelopes)
    with monkeypatch.context() as patched:
        patched.setattr(SetWrite, "run_many", Statement.run_many)  # every row a statement, as before
        per_row = projected(per_row_url, [])
        for envelopes in batches:
            _commit(per_row, envelopes)
    try:
        assert every_row(set_based) == every_row(per_row)
        kept = every_row(set_based)
        assert [(row[10], row[11]) for row in kept["ratings"] if row[1] == "r-é"] == [
            ("satisfied", 9_007_199_254_740_993)]
        assert 9_007_199_254_740_993 in [row[7] for row in kept["queue_segments"]]
        sets = [statement for statement in sent if "json_to_recordset" in statement]
        if not set_based_url.is_sqlite:  # SQLite keeps executemany: no round trips to save
            # One a batch; the last changes no segment (its tickets were issued before).
            assert len([s for s in sets if "INSERT INTO queue_segments" in s]) == len(batches) - 1
            assert [s for s in sets if "INSERT INTO ratings" in s]
        else:
            assert sets == []
    finally:
        set_based.close()
        per_row.close()
