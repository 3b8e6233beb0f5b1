"""The big screen's feed on PostgreSQL (`central.web.notify_feed`): two feeds on one database, as
two central processes, each with its own connections. A change announced by either reaches both
processes' readers once, in the order the changes committed; a change inside a writer's
transaction is heard only once that commits; a listener whose connection the server drops
comes back by itself and makes the screens redraw.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from central.hall_lock import hold_hall
from central.web import notify_feed
from central.web.feed import Happening, ScreenFeed
from central.web.notify_feed import APPLICATION_NAME, PAYLOAD_LIMIT, NotifyFeed, open_feed, payload_of
from spine.broker.runner import free_port
from spine.engines import open_engine
from spine.storeurl import StoreUrl
from tests.support import wait_until


@pytest.fixture
def two_processes(pg_database: StoreUrl) -> Iterator[tuple[NotifyFeed, NotifyFeed]]:
    feeds = (NotifyFeed(pg_database), NotifyFeed(pg_database))
    try:
        for feed in feeds:
            listening(feed)
        yield feeds
    finally:
        for feed in feeds:
            feed.close()


def listening(feed: NotifyFeed) -> None:
    """Started, and listening: what is announced from now on reaches it."""
    feed.start()
    wait_until(feed.listener.listening.is_set, 60, "the feed to listen")


def said(feed: ScreenFeed) -> list[tuple[str, dict[str, Any]]]:
    return [(h.kind, h.data) for h in feed.since(0)]


def heard(feed: ScreenFeed, kind: str, **data: Any) -> Happening | None:
    return next((h for h in feed.since(0) if h.kind == kind and h.data.items() >= data.items()), None)


def wait_heard(feed: ScreenFeed, kind: str, **data: Any) -> Happening:
    found = wait_until(lambda: heard(feed, kind, **data), 30, f"{kind} {data} to be heard")
    assert found is not None
    return found


def test_on_a_sqlite_file_the_feed_is_this_process_own(tmp_path: Any) -> None:
    feed = open_feed(StoreUrl.sqlite_file(tmp_path / "events.sqlite"))
    assert not isinstance(feed, NotifyFeed)
    feed.publish("complaint", {"id": "C-1"})
    assert said(feed) == [("complaint", {"id": "C-1"})]  # at once: no listener in between


def test_a_change_announced_in_one_process_reaches_both_processes_readers_once_in_order(
        two_processes: tuple[NotifyFeed, NotifyFeed]) -> None:
    ingest, api = two_processes
    ingest.publish("escalation", {"case_id": "SC-1", "stage": "yellow_light"})
    ingest.touch()
    ingest.publish_many([("escalation", {"case_id": "SC-2", "stage": "red_card"}),
                         ("complaint", {"id": "C-9", "overdue": True})])
    api.publish("complaint", {"id": "C-10"})  # after the others: heard after them everywhere

    expected = [("escalation", {"case_id": "SC-1", "stage": "yellow_light"}),
                ("escalation", {"case_id": "SC-2", "stage": "red_card"}),
                ("complaint", {"id": "C-9", "overdue": True}),
                ("complaint", {"id": "C-10"})]
    for feed in (api, ingest):
        wait_heard(feed, "complaint", id="C-10")
        assert said(feed) == expected  # the publisher heard its own once, not twice
        assert feed.version == 5  # four happenings and one touch
    assert [h.version for h in api.since(2)] == [3, 4, 5]


def test_a_change_inside_a_writers_transaction_is_heard_once_it_commits_and_never_if_it_rolls_back(
        two_processes: tuple[NotifyFeed, NotifyFeed], pg_database: StoreUrl) -> None:
    writer, screen = two_processes
    engine = open_engine(pg_database)
    try:
        with engine.connect() as connection:
            transaction = connection.begin()
            writer.publish("escalation", {"case_id": "SC-3"}, tx=connection)
            writer.publish("complaint", {"id": "marker-1"})  # its own transaction: committed first
            wait_heard(screen, "complaint", id="marker-1")
            assert heard(screen, "escalation") is None  # not yet committed: not told
            transaction.commit()
            wait_heard(screen, "escalation", case_id="SC-3")

            transaction = connection.begin()
            writer.touch(tx=connection)
            writer.publish("escalation", {"case_id": "SC-4"}, tx=connection)
            transaction.rollback()
        writer.publish("complaint", {"id": "marker-2"})
        for feed in (screen, writer):
            wait_heard(feed, "complaint", id="marker-2")
            assert [kind for kind, _data in said(feed)] == ["complaint", "escalation", "complaint"]
            assert feed.version == 3  # the rolled-back touch was never heard either
    finally:
        engine.dispose()


def test_the_listener_comes_back_after_the_server_drops_its_connection_and_the_screens_redraw(
        two_processes: tuple[NotifyFeed, NotifyFeed], pg_database: StoreUrl) -> None:
    ingest, api = two_processes
    dropped = api.listener.backend_pid
    assert dropped is not None
    engine = open_engine(pg_database)
    try:
        with engine.begin() as connection:
            assert connection.execute(text(
                "SELECT application_name FROM pg_stat_activity WHERE pid = :pid"), {"pid": dropped}
            ).scalar_one() == APPLICATION_NAME
            terminated = connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
            assert terminated.scalar_one()
    finally:
        engine.dispose()

    wait_until(lambda: api.listener.connections == 2 and api.listener.listening.is_set(), 30,
               "the listener to connect and listen again")
    assert api.listener.backend_pid != dropped
    assert api.diagnostics()["listening"] is True and api.diagnostics()["connections"] == 2
    assert api.version == 1 and api.since(0) == []  # what was missed, if anything: redraw the board

    ingest.publish("escalation", {"case_id": "SC-5", "stage": "red_light"})
    for feed in (api, ingest):  # the other process never lost its own
        wait_heard(feed, "escalation", case_id="SC-5")
        assert said(feed) == [("escalation", {"case_id": "SC-5", "stage": "red_light"})]


def test_a_long_announcement_is_cut_below_notifys_payload_limit_and_still_heard(
        two_processes: tuple[NotifyFeed, NotifyFeed]) -> None:
    ingest, api = two_processes
    reason = "设备不得发布" * 2000  # 36,000 bytes of UTF-8
    ingest.publish("security", {"hall": "hall-01", "reason": reason})
    ingest.publish("security", {f"key{i}": "x" * 150 for i in range(100)})
    wait_until(lambda: len(api.since(0)) == 2, 30, "both alarms")
    first, second = api.since(0)
    assert first.data["hall"] == "hall-01" and first.data["reason"].startswith("设备不得发布")
    assert len(first.data["reason"]) == 201  # cut, with an ellipsis
    assert (second.kind, second.data) == ("security", {})  # too much even cut: the kind alone


def test_every_payload_fits_the_limit() -> None:
    for data in ({"reason": "界" * 10_000}, {f"k{i}": "y" * 300 for i in range(500)}, {"n": 1}):
        payload = payload_of("host:1:abc", 7, "security", data)
        assert len(payload.encode()) <= PAYLOAD_LIMIT
        assert json.loads(payload)["k"] == "security"


def test_an_announcement_the_server_cannot_take_still_reaches_this_process_screens() -> None:
    nowhere = StoreUrl.parse(f"postgresql://hall@127.0.0.1:{free_port()}/gone")
    feed = NotifyFeed(nowhere)
    try:
        feed.publish("complaint", {"id": "C-11"})
        feed.publish_many([("escalation", {"case_id": "SC-6"})])
        assert said(feed) == [("complaint", {"id": "C-11"}), ("escalation", {"case_id": "SC-6"})]
    finally:
        feed.close()


def test_batches_stored_in_quick_succession_share_one_notification_sent_after_the_last_commits(
        pg_database: StoreUrl) -> None:
    ingest, screen = NotifyFeed(pg_database, stored_gap_s=5.0), NotifyFeed(pg_database)
    engine = open_engine(pg_database)
    try:
        listening(ingest)
        listening(screen)
        with engine.connect() as connection:
            with connection.begin():  # the first batch: announced with its own commit
                hold_hall(connection, "hall-01")
                ingest.stored(connection, "hall-01")
            with connection.begin():  # the next, within the gap: owed, not sent in its transaction
                hold_hall(connection, "hall-01")
                ingest.stored(connection, "hall-01")
                wait_until(lambda: screen.version == 1, 30, "the first batch's notification")
                # The listener, past the gap, waits for the hall's stream before it tells anyone.
                wait_until(lambda: waiting_for_advisory_lock(engine, ingest.listener.backend_pid), 15,
                           "the listener to wait for the batch's transaction")
                assert screen.version == 1
            wait_until(lambda: screen.version == 2, 30, "the owed notification after the commit")
            assert ingest.version == 2 and screen.since(0) == []
    finally:
        ingest.close()
        screen.close()
        engine.dispose()


def test_a_batch_that_holds_its_hall_long_is_announced_after_it_commits_while_other_news_still_arrives(
        pg_database: StoreUrl, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify_feed, "OWED_WAIT_MS", 200)
    ingest, screen = NotifyFeed(pg_database, stored_gap_s=3.0), NotifyFeed(pg_database)
    engine = open_engine(pg_database)
    try:
        listening(ingest)
        listening(screen)
        with engine.connect() as connection:
            with connection.begin():
                hold_hall(connection, "hall-02")
                ingest.stored(connection, "hall-02")
            with connection.begin():
                hold_hall(connection, "hall-02")
                ingest.stored(connection, "hall-02")  # owed
                wait_until(lambda: waiting_for_advisory_lock(engine, ingest.listener.backend_pid), 15,
                           "the listener to wait for the batch")
                wait_until(lambda: not waiting_for_advisory_lock(engine, ingest.listener.backend_pid), 15,
                           "the listener to give up waiting for now")
                screen.publish("complaint", {"id": "C-12"})  # the listener reads on meanwhile
                wait_heard(ingest, "complaint", id="C-12")
                wait_until(lambda: waiting_for_advisory_lock(engine, ingest.listener.backend_pid), 15,
                           "the listener to wait for the batch again")
                assert [h.kind for h in ingest.since(0)] == ["complaint"] and ingest.version == 2
            wait_until(lambda: ingest.version == 3 and screen.version == 3, 30,
                       "the owed notification after the commit")
    finally:
        ingest.close()
        screen.close()
        engine.dispose()


def waiting_for_advisory_lock(engine: Any, pid: int | None) -> bool:
    with engine.connect() as connection:
        return bool(connection.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND pid = :pid"),
            {"pid": pid}).scalar_one())
