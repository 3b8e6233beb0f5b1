"""Several central processes tick the anomaly watch over one PostgreSQL database: each fact is
judged once, each anomaly raised once, and a pass cut off by a dead connection leaves nothing.

Each watch has its own connection (as each process has), over the same facts: a feed both read
from the same position, as two processes' feeds read the one event store."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import exc as sql_errors

from central.anomalies.book import AnomalyBook, AnomalyError, Raised
from central.anomalies.facts import Fact, Hit
from central.anomalies.judging import MemoryCases
from central.anomalies.pseudonyms import applicant_key
from central.anomalies.table import AnomalyRules, RuleSpec
from central.anomalies.watch import AnomalyWatch
from central.cases.calendar import load_calendar
from central.cases.rules import default_rules
from central.supervision_store import SupervisionStore
from contract.events.rating import Grade
from spine.storeurl import StoreUrl
from tests.central.stores import migrated
from tests.pg import PgCluster
from tests.support import wait_until

HALL = "hall-01"
T0 = 1_795_000_000_000
WINDOWS = 60
BURST = 5  # the starter rule: 5 ratings of 非常满意 in a row, each within 120 s


class ArrivingFacts:
    """A feed of the halls' ratings that grows while the watches tick (the event store, read forward)."""

    name = "events"

    def __init__(self) -> None:
        self.facts: list[Fact] = []

    def read(self, after: int, limit: int) -> tuple[list[Fact], int]:
        chunk = self.facts[after:after + limit]
        return chunk, after + len(chunk)


def ratings() -> list[Fact]:
    """Every window's burst, in time order: window w's k-th rating at T0 + k * 10 s + w ms."""
    facts = [Fact("rating.recorded", T0 + k * 10_000 + w, f"hall:{HALL}", f"event:{k * WINDOWS + w}",
                  {"window": f"W{w:02d}", "grade": Grade.VERY_SATISFIED.value}, hall=HALL)
             for k in range(BURST) for w in range(WINDOWS)]
    return sorted(facts, key=lambda f: f.at)


class Office:
    """One central process's watch: its own connection to the shared database."""

    def __init__(self, url: StoreUrl, feed: ArrivingFacts, book: type[AnomalyBook] = AnomalyBook) -> None:
        self.store = SupervisionStore(url)
        self.book = book(self.store)
        rules = default_rules()
        self.watch = AnomalyWatch(self.store, self.book, AnomalyRules.load(None), [feed],
                                  lambda now: {f"hall:{HALL}": now}, cases=MemoryCases(),
                                  calendar=load_calendar(None), ladder=rules.ladder,
                                  pseudonym=lambda _case, _phone: None)
        (self.pid,) = self.store.query("SELECT pg_backend_pid()")[0]

    def tick(self) -> list[Raised]:
        return self.watch.tick(T0 + 3_600_000).raised


@pytest.fixture
def database(pg_database: StoreUrl) -> StoreUrl:
    return migrated(pg_database)


@pytest.fixture
def feed() -> ArrivingFacts:
    return ArrivingFacts()


@pytest.fixture
def two(database: StoreUrl, feed: ArrivingFacts) -> Iterator[tuple[Office, Office]]:
    first, second = Office(database, feed), Office(database, feed)
    yield first, second
    first.store.close()
    second.store.close()


def test_two_watches_ticking_together_raise_each_anomaly_once_and_keep_one_chain(
        two: tuple[Office, Office], feed: ArrivingFacts) -> None:
    facts = ratings()
    reported: list[list[Raised]] = [[], []]
    errors: list[BaseException] = []
    for start in range(0, len(facts), 25):  # the facts arrive in rounds; both tick after each
        feed.facts += facts[start:start + 25]
        def tick(index: int, together: threading.Barrier) -> None:
            try:
                together.wait(5)
                reported[index] += two[index].tick()
            except BaseException as error:  # noqa: BLE001 (reported below, with the round)
                errors.append(error)

        together = threading.Barrier(2)
        threads = [threading.Thread(target=tick, args=(i, together)) for i in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors, f"round at fact {start}: {errors[0]!r}"

    first, second = two
    everyone = [r.id for r in reported[0]] + [r.id for r in reported[1]]
    assert len(everyone) == WINDOWS == len(set(everyone)), "each anomaly reported by one process, once"
    found = first.book.find(limit=1000)
    assert sorted(a["id"] for a in found) == sorted(everyone)
    assert sorted(a["subject"] for a in found) == [f"W{w:02d}" for w in range(WINDOWS)]
    assert first.store.query("SELECT count(*) FROM anomaly_pending")[0][0] == 0
    assert first.store.query("SELECT position FROM anomaly_cursors")[0][0] == len(facts)
    assert all(row[0] == BURST for row in first.store.query("SELECT streak FROM anomaly_rating_streaks"))
    report = second.book.verify()
    assert report["ok"] and report["checked"] == WINDOWS


class Stalling(AnomalyBook):
    """A book that waits once it has written a batch's anomalies, the third among them (the process
    is stopped there, mid-pass, before the batch commits)."""

    stalled = threading.Event()
    go_on = threading.Event()

    def raise_hits(self, tx: Any, hits: Sequence[tuple[RuleSpec, Hit]], now_ms: int) -> list[Raised]:
        raised = super().raise_hits(tx, hits, now_ms)
        if any(r.id.endswith("-0003") for r in raised):
            self.stalled.set()
            self.go_on.wait(30)
        return raised


def test_a_pass_whose_connection_dies_mid_judging_leaves_nothing_and_the_other_process_judges_it(
        database: StoreUrl, feed: ArrivingFacts, pg_cluster: PgCluster) -> None:
    feed.facts += ratings()
    dying, other = Office(database, feed, Stalling), Office(database, feed)
    errors: list[BaseException] = []

    def tick() -> None:
        try:
            dying.tick()
        except BaseException as error:  # noqa: BLE001 (the dead connection's error, checked below)
            errors.append(error)

    thread = threading.Thread(target=tick)
    thread.start()
    try:
        assert Stalling.stalled.wait(30), "the pass reached its third anomaly"
        # The anomalies written, uncommitted; the other process's pass waits for the lock.
        waiting: list[list[Raised]] = []
        second = threading.Thread(target=lambda: waiting.append(other.tick()))
        second.start()
        wait_until(lambda: other_waits_for_the_watch(pg_cluster, database, other.pid), 10,
                   "the second pass waiting for the watch's lock")
        pg_cluster.admin(f"SELECT pg_terminate_backend({dying.pid})", database=str(database.database))
        Stalling.go_on.set()
        thread.join(30)
        second.join(60)
        assert errors and isinstance(errors[0], sql_errors.DBAPIError), errors
        assert len(waiting) == 1 and len(waiting[0]) == WINDOWS, "the other process raised every one"
        ids = sorted(r.id for r in waiting[0])
        assert ids[:3] == [ids[0][:-4] + f"{n:04d}" for n in (1, 2, 3)], "numbered from the first"
        assert other.store.query("SELECT count(*) FROM anomalies")[0][0] == WINDOWS
        assert other.store.query("SELECT count(*) FROM anomaly_pending")[0][0] == 0
        report = other.book.verify()
        assert report["ok"] and report["checked"] == WINDOWS
        assert dying.tick() == [], "the process whose connection died connects again: nothing left to judge"
    finally:
        Stalling.go_on.set()
        thread.join(30)
        other.store.close()
        with contextlib.suppress(sql_errors.DBAPIError):
            dying.store.close()


def other_waits_for_the_watch(cluster: PgCluster, database: StoreUrl, pid: int) -> bool:
    """`pid` is waiting for an advisory lock (the watch's), as pg_locks shows."""
    import psycopg

    with psycopg.connect(cluster.url(str(database.database)).secret_url().replace("+psycopg", "")) as sql:
        row = sql.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND locktype = 'advisory' "
                          "AND NOT granted", (pid,)).fetchone()
    return bool(row and row[0])


def both_at_once(first: Any, second: Any) -> list[BaseException | None]:
    """Run `first` and `second` on two threads, started together; what each raised (None: nothing)."""
    outcome: list[BaseException | None] = [None, None]
    together = threading.Barrier(2)

    def run(index: int, action: Any) -> None:
        try:
            together.wait(5)
            action()
        except BaseException as error:  # noqa: BLE001 (returned to the test)
            outcome[index] = error

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcome


def test_supervisors_at_two_processes_step_each_anomaly_once_and_seal_their_notes_with_one_key(
        two: tuple[Office, Office], feed: ArrivingFacts) -> None:
    feed.facts += ratings()
    first, second = two
    anomalies = sorted(r.id for r in first.tick())
    refused = 0

    def acknowledge(office: Office, who: str, anomaly: str) -> None:
        with office.store.transaction() as tx:
            office.book.acknowledge(tx, anomaly, who, T0)

    def assign(office: Office, who: str, anomaly: str) -> None:
        with office.store.transaction() as tx:
            office.book.assign(tx, anomaly, who, who, T0, f"申请人电话 1381234{anomaly[-4:]}")

    for anomaly in anomalies:
        outcome = both_at_once(lambda a=anomaly: acknowledge(first, "office-wang", a),
                               lambda a=anomaly: acknowledge(second, "office-li", a))
        assert sum(isinstance(e, AnomalyError) for e in outcome) == 1, outcome
        refused += 1
        assert both_at_once(lambda a=anomaly: assign(first, "张科长", a),
                            lambda a=anomaly: assign(second, "李科长", a)) == [None, None]
    steps = first.store.query("SELECT type, count(*) FROM anomaly_log GROUP BY type ORDER BY type")
    assert steps == [("anomaly.acknowledged", WINDOWS), ("anomaly.assigned", 2 * WINDOWS),
                     ("anomaly.raised", WINDOWS)]
    keys = first.store.query("SELECT count(*), count(DISTINCT subject) FROM personal_keys "
                             "WHERE subject LIKE 'anomaly:%%'")
    assert keys == [(WINDOWS, WINDOWS)], "one key per anomaly's notes"
    assert second.book.verify()["ok"] and refused == WINDOWS


def test_two_processes_starting_together_make_one_pseudonym_key(database: StoreUrl) -> None:
    stores = [SupervisionStore(database), SupervisionStore(database)]
    keys: list[bytes] = []

    def start(store: SupervisionStore) -> None:
        with store.transaction() as tx:
            keys.append(applicant_key(tx))

    try:
        assert both_at_once(lambda: start(stores[0]), lambda: start(stores[1])) == [None, None]
        assert len(keys) == 2 and keys[0] == keys[1]
        assert stores[0].query("SELECT count(*) FROM personal_meta WHERE name = 'applicant_key'") == [(1,)]
    finally:
        for store in stores:
            store.close()
