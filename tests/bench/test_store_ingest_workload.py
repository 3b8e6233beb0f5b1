"""`bench.store_ingest` measures what central's ingest really does: its batches are cut as a
gateway's uplink cuts them, and every one of its messages passes central's receiver whole
(bodies as the catalog has them, authors as `HallTrust` checks them). If the workload drifted
from the contract, the figures would measure refusals instead."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench.store_ingest import (
    UPLINK,
    _on_the_wire,
    _store_all,
    ingest_with,
    preloaded,
    taking_turns,
    visit_batches,
)
from spine.storeurl import StoreUrl


def test_the_visits_batches_are_cut_as_the_uplink_cuts_them() -> None:
    made = visit_batches(2_000, hall=1)
    assert sum(len(batch.events) for batch in made) == 2_000
    for batch in made:
        assert len(batch.events) <= UPLINK.batch_max_events
        assert sum(len(event.payload) for event in batch.events) <= UPLINK.batch_max_bytes
    # Full batches: a long run is cut by bytes before events, and the stream has no gap.
    assert len(made[0].events) < UPLINK.batch_max_events
    assert [batch.batch.after for batch in made] == [None] + [batch.batch.last for batch in made[:-1]]


def test_every_message_of_the_workload_is_stored_whole_through_the_receiver(tmp_path: Path) -> None:
    work = taking_turns([visit_batches(600, hall, size=100) for hall in (1, 2)])
    path = tmp_path / "events.sqlite"
    # `_receive_all` asserts each message's answer: all stored, none refused, none asked again.
    _store_all(StoreUrl.sqlite_file(path), work, projections=True, wire=_on_the_wire(work))

    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM events").fetchone() == (1_200,)
        assert db.execute("SELECT count(*) FROM dead_letters").fetchone() == (0,)
        assert db.execute("SELECT count(DISTINCT rating) FROM ratings").fetchone()[0] > 0


def test_a_preloaded_store_holds_a_province_s_history_and_its_projections_replay_none(tmp_path: Path) -> None:
    url = preloaded(StoreUrl.sqlite_file(tmp_path / "events.sqlite"), 3_000)
    with sqlite3.connect(tmp_path / "events.sqlite") as db:
        newest = db.execute("SELECT max(id) FROM events").fetchone()[0]
        assert db.execute("SELECT count(*) FROM events").fetchone() == (3_000,)
        assert db.execute("SELECT count(*) FROM queue_segments").fetchone() == (1_000,)
        # Every projection's cursor at the newest event: installing one replays nothing.
        assert db.execute("SELECT count(*) FROM projection_cursor WHERE last_id = ?", (newest,)
                          ).fetchone() == (4,)

    # Two runs append to it, each with halls of its own: nothing of one is taken for the other's.
    for first_hall in (1, 3):
        ingest_with(url, 1, 2, 400, projections=True, receiver=True, first_hall=first_hall)
    with sqlite3.connect(tmp_path / "events.sqlite") as db:
        assert db.execute("SELECT count(*) FROM events").fetchone() == (3_800,)
        assert db.execute("SELECT count(DISTINCT hall) FROM ratings").fetchone() == (4,)
        # A projection's cursor is the largest of its rows (`central.projection`): each at the newest.
        cursors = db.execute("SELECT substr(name, 1, instr(name || '@', '@') - 1), max(last_id) "
                             "FROM projection_cursor GROUP BY 1").fetchall()
        newest = db.execute("SELECT max(id) FROM events").fetchone()[0]
        assert len(cursors) == 4 and {last for _name, last in cursors} == {newest}


def test_event_ids_are_made_as_devices_make_them_sorting_by_time() -> None:
    ids = [event.envelope.id for batch in visit_batches(1_000, hall=1) for event in batch.events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
