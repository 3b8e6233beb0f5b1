"""Several central processes' SMS platforms over one PostgreSQL: one outbox, each message sent once.

Each "process" is an `SmsPlatform` of its own (its own connections, its own simulated modem,
its own name) on the same migrated database, driven from threads of its own. Without the
claim's `FOR UPDATE SKIP LOCKED` (`central/sms/outbox.py`, `_TAKE`) two workers send the same
message; without the number's advisory lock (`SmsOutbox.take`) two workers at a number's limit
both send (docs/operations.md, "Several central processes")."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from central.complaints import ComplaintDesk
from central.complaints.desk import NewComplaint
from central.complaints.settings import ComplaintSettings
from central.deadlines import WorkingDays
from central.personal.events import SealingEventStore
from central.sms.platform import SmsPlatform
from central.sms.policy import DAY_MS
from central.sms.senders.simulated import SimulatedSender
from central.sms.settings import RateLimits
from central.sms_feed import SmsFeed, SmsFeedSettings
from central.sms_feed.complaints import ComplaintFacts
from central.sms_feed.cursor import FeedCursors
from hallwatch.cli import main
from spine.clock import SimulatedClock
from spine.engines import open_engine
from spine.storeurl import StoreUrl
from tests.central.stores import migrated
from tests.pg import pg_cluster, pg_database  # noqa: F401
from tests.sms.conftest import CITIZEN, accepted_body, hall_time, make_settings
from tests.support import wait_until

T0 = hall_time("2026-11-23 10:00")


@pytest.fixture
def url(pg_database: StoreUrl) -> StoreUrl:  # noqa: F811
    return migrated(pg_database)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)


class Processes:
    """Central processes' SMS platforms on one database, each with its own modem."""

    def __init__(self, url: StoreUrl, clock: SimulatedClock, root: Path) -> None:
        self.url, self.clock, self.root = url, clock, root
        self.started: list[SmsPlatform] = []

    def start(self, name: str, **settings: Any) -> SmsPlatform:
        platform = SmsPlatform(make_settings(self.root / name, **settings), clock=self.clock,
                               sender=SimulatedSender(), store=self.url, process=name)
        self.started.append(platform)
        return platform

    def close(self) -> None:
        for platform in self.started:
            platform.stop()


@pytest.fixture
def processes(url: StoreUrl, clock: SimulatedClock, tmp_path: Path) -> Iterator[Processes]:
    started = Processes(url, clock, tmp_path)
    yield started
    started.close()


def sender_of(platform: SmsPlatform) -> SimulatedSender:
    assert isinstance(platform.sender, SimulatedSender)
    return platform.sender


def phone(n: int) -> str:
    return f"1390000{n:04d}"


def in_threads(work: Callable[[SmsPlatform], None], platforms: list[SmsPlatform]) -> None:
    """Run `work` for each platform on a thread of its own, together; re-raise what failed."""
    failures: list[BaseException] = []
    start = threading.Barrier(len(platforms))

    def run(platform: SmsPlatform) -> None:
        try:
            start.wait(30)
            work(platform)
        except BaseException as exc:  # noqa: BLE001 - the test reports every failure
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(p,), daemon=True) for p in platforms]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "a process never finished"
    assert failures == []


def drain(platform: SmsPlatform) -> None:
    """Passes until nothing is due (what a worker's thread does, without waiting between them)."""
    while platform.outbox.due(platform.clock.wall_ms(), 1):
        platform.run_once(poll=False)


def test_two_workers_send_each_of_100_messages_once_and_both_send_a_share(processes: Processes) -> None:
    platforms = [processes.start("central-a", batch=5), processes.start("central-b", batch=5)]
    for n in range(100):  # queued by either process: one outbox
        platforms[n % 2].notify(f"evt-{n}", "case.accepted", accepted_body(f"JQ-{n:04d}", phone=phone(n)))

    in_threads(drain, platforms)

    sent = [unit.phone for p in platforms for unit in sender_of(p).sent]
    assert Counter(sent) == Counter(phone(n) for n in range(100))  # each message once, none lost
    assert all(sender_of(p).sent for p in platforms)  # both processes' modems sent a share
    assert platforms[0].outbox.counts() == {"sent": 100}
    assert {m.attempts for m in platforms[0].messages(limit=200)} == {1}


def test_a_killed_process_keeps_its_message_until_its_lease_ends_then_the_other_sends_it(
        processes: Processes, clock: SimulatedClock) -> None:
    first = processes.start("central-a", lease_s=60)
    [message_id] = first.notify("evt-1", "case.accepted", accepted_body())
    assert first.outbox.claim(message_id, "simulated", 1, clock.wall_ms())  # in hand...
    first.outbox.close()  # ...and killed: its connections gone, its lease left in the row

    second = processes.start("central-b", lease_s=60)
    assert second.outbox.recover(clock.wall_ms()) == 0  # a live lease is not another's to take
    second.run_once(poll=False)
    assert sender_of(second).sent == [] and second.messages()[0].state == "sending"

    clock.advance(61_000)  # the lease ends: the killed process is not coming back for it
    second.run_once(poll=False)
    assert len(sender_of(second).texts_to(CITIZEN)) == 1
    [message] = second.messages()
    assert (message.state, message.attempts) == ("sent", 2)
    assert [outcome for _, outcome, _ in second.outbox.attempts(message_id)] == ["started", "started", "sent"]


def test_a_process_starting_leaves_a_live_process_s_message_in_hand_alone(
        processes: Processes, clock: SimulatedClock) -> None:
    first, second = processes.start("central-a"), processes.start("central-b")
    [message_id] = first.notify("evt-1", "case.accepted", accepted_body())
    assert first.outbox.claim(message_id, "simulated", 1, clock.wall_ms())
    second.start()  # its recover() at start
    second.stop()
    assert second.messages()[0].state == "sending"
    processes.start("central-a").outbox.recover(clock.wall_ms())  # central-a restarted: its own come back
    assert second.messages()[0].state == "queued"


def test_an_opt_out_taken_by_one_process_stops_what_another_queued(processes: Processes) -> None:
    first, second = processes.start("central-a"), processes.start("central-b")
    second.notify("evt-1", "case.accepted", accepted_body())
    assert first.receive_reply(CITIZEN, "退订")  # the reply reached the first process's modem
    second.run_once(poll=False)
    assert sender_of(second).sent == [] and sender_of(first).sent == []
    second.notify("evt-2", "case.accepted", accepted_body("JQ-LATER"))
    assert [m.state for m in second.messages()] == ["opted_out", "opted_out"]
    assert second.diagnostics()["opt_outs"] == 1 and second.outbox.incoming()[0]["action"] == "opt_out"


def test_a_number_s_daily_limit_counts_every_process_s_sends(processes: Processes) -> None:
    limits = RateLimits(per_number_per_hour=3, per_number_per_day=3)
    platforms = [processes.start("central-a", rate=limits, batch=4),
                 processes.start("central-b", rate=limits, batch=4)]
    numbers, each = 12, 6
    for n in range(numbers * each):  # every number gets `each` facts, queued by both processes
        platforms[n % 2].notify(f"evt-{n}", "case.accepted",
                                accepted_body(f"JQ-{n:04d}", phone=phone(n % numbers)))

    in_threads(drain, platforms)

    sent = Counter(unit.phone for p in platforms for unit in sender_of(p).sent)
    assert sent == Counter({phone(n): 3 for n in range(numbers)})  # never a fourth, whoever sent it
    assert platforms[0].outbox.counts() == {"queued": numbers * 3, "sent": numbers * 3}
    assert {m.hold for m in platforms[0].messages(state="queued", limit=500)} == {"rate_limit"}


def test_a_second_worker_waits_for_the_number_s_lock_and_then_counts_the_first_one_s_send(
        processes: Processes, url: StoreUrl, clock: SimulatedClock) -> None:
    limits = RateLimits(per_number_per_hour=1, per_number_per_day=1)
    first, second = processes.start("central-a", rate=limits), processes.start("central-b", rate=limits)
    [mine] = first.notify("evt-1", "case.accepted", accepted_body())
    [theirs] = second.notify("evt-2", "case.accepted", accepted_body("JQ-OTHER"))  # the same citizen
    outcome: dict[str, Any] = {}

    def second_sends() -> None:
        try:
            outcome["result"] = second.run_once(poll=False)
        except BaseException as exc:  # noqa: BLE001
            outcome["failed"] = exc

    watcher = open_engine(url)
    try:
        with first.outbox.take(mine, clock.wall_ms()) as taken:
            assert taken is not None and taken.send_times(clock.wall_ms() - DAY_MS) == []
            waiter = threading.Thread(target=second_sends, daemon=True)
            waiter.start()
            wait_until(lambda: _waiting_for_an_advisory_lock(watcher), what="the second worker to wait")
            taken.start("simulated", 1)  # the first decides to send: the day's one message
        waiter.join(30)
    finally:
        watcher.dispose()
    assert outcome["result"].held == 1 and sender_of(second).sent == []
    [held] = second.messages(fact_id="evt-2")
    assert (held.id, held.state, held.hold) == (theirs, "queued", "rate_limit")


def _waiting_for_an_advisory_lock(engine: Engine) -> bool:
    with engine.connect() as sql:
        return bool(sql.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar_one())


def test_hall_central_privacy_erases_a_number_from_the_outbox_every_process_shares(
        processes: Processes, url: StoreUrl, tmp_path: Path) -> None:
    queued_by = processes.start("central-b")
    queued_by.notify("evt-1", "case.accepted", accepted_body())
    secret = tmp_path / "db.password"
    secret.write_text("not-needed-with-trust\n")
    config = tmp_path / "central.toml"
    config.write_text(f'data_dir = "{tmp_path / "central-a"}"\n[database]\n'
                      f'url = "postgresql://{url.user}@{url.host}:{url.port}/{url.database}"\n'
                      f'password_file = "{secret}"\n')

    erased = CliRunner().invoke(main, ["central", "privacy", "erase", "--config", str(config),
                                       "--phone", CITIZEN, "--by", "office"])
    assert erased.exit_code == 0, erased.output
    assert json.loads(erased.stdout)["sms"] == {"messages": 1, "unsent": 1, "incoming": 0}
    [message] = queued_by.messages()
    assert (message.state, message.phone) == ("erased", "(erased)")


class Killed(BaseException):
    """The process dies here: nothing after it runs, its open transaction is rolled back."""


def test_a_feed_killed_between_queuing_and_its_claim_s_commit_leaves_no_message_twice(
        processes: Processes, url: StoreUrl, clock: SimulatedClock) -> None:
    stores = [SealingEventStore(url, clock) for _ in range(2)]
    try:
        desks = [ComplaintDesk(store, ComplaintSettings.model_validate({}), working_days=WorkingDays(),
                               send=lambda _hall, _command: None, recorders=lambda _hall: [])
                 for store in stores]
        platforms = [processes.start("central-a"), processes.start("central-b")]
        feeds = [SmsFeed(platform.notify, [ComplaintFacts(store, desk.contact)], FeedCursors(store),
                         SmsFeedSettings.model_validate({"batch": 10}), clock)
                 for platform, store, desk in zip(platforms, stores, desks, strict=True)]
        for feed in feeds:
            feed.start()
            feed.stop()  # its cursor set; passes are run by hand below
        for n in range(5):
            desks[0].receive(NewComplaint(hall="hall-01", summary=f"态度差 {n}", phone=phone(n)),
                             actor="office")

        told: list[str] = []

        def queue_three_then_die(fact_id: str, *args: Any, **kwargs: Any) -> object:
            if len(told) == 3:
                raise Killed  # after three facts' messages committed, before the claim's commit
            told.append(fact_id)
            return platforms[0].notify(fact_id, *args, **kwargs)

        feeds[0].notify = queue_three_then_die
        with pytest.raises(Killed):
            feeds[0].run_once()
        assert platforms[0].outbox.counts() == {"queued": 3}
        assert feeds[1].cursors.get("complaints") == 0  # the claim's move was rolled back

        assert feeds[1].run_once() == 5  # the other process reads the chunk again, all five
        for platform in platforms:
            drain(platform)
        sent = Counter(unit.phone for p in platforms for unit in sender_of(p).sent)
        assert sent == Counter(phone(n) for n in range(5))  # the three queued twice go out once
        assert platforms[1].outbox.counts() == {"sent": 5}
    finally:
        for feed in feeds:
            feed.cursors.close()
        for store in stores:
            store.close()
