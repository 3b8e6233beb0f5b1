"""The append-only event log every receiving node keeps, with the columns that node chooses."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from spine.database import Database
from spine.eventlog import EventLog

CENTRAL_LIKE = EventLog(
    columns=(("hall", "TEXT NOT NULL"), ("device", "TEXT NOT NULL"), ("seq", "INTEGER NOT NULL"),
             ("type", "TEXT NOT NULL"), ("gateway_time", "INTEGER"), ("payload", "TEXT NOT NULL")),
    device_key=("hall", "device", "seq"),
)


def test_each_event_is_kept_once_as_first_written_whatever_the_node_indexes(tmp_path: Path) -> None:
    db = Database(tmp_path / "node.sqlite")
    db.ensure_schema(CENTRAL_LIKE.schema())
    first = {"hall": "hall-01", "device": "sim-01", "seq": 1, "type": "sim.counter", "payload": '{"n":1}'}
    with db.transaction() as tx:
        assert CENTRAL_LIKE.append(tx, "event-0001", first)
        assert not CENTRAL_LIKE.append(tx, "event-0001", {**first, "payload": '{"n":2}'})  # a resend

    assert db.query("SELECT event_id, hall, gateway_time, payload FROM events") == [
        ("event-0001", "hall-01", None, '{"n":1}')
    ]
    for statement in ("UPDATE events SET payload = '{}'", "DELETE FROM events"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"), db.transaction() as tx:
            tx.execute(statement)
    db.close()


def test_a_log_without_the_columns_every_reader_needs_is_refused() -> None:
    with pytest.raises(ValueError, match="payload"):
        EventLog(columns=(("type", "TEXT NOT NULL"),))
