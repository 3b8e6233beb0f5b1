"""One hall's stream at one central process at a time: a PostgreSQL advisory lock per hall.

Several central processes may receive the same hall's batches (MQTT 5 shared
subscriptions, or two processes subscribed during a hand-over). Each batch's
transaction first takes `pg_advisory_xact_lock(hall_lock_key(hall))`, so a second
process's batch of that hall waits until the first one's transaction has ended, and
then sees what it committed: a batch delivered to both is stored and handled once
(its events are then duplicates), and a hall's batches are stored one after the other
in the order the sender's stream positions allow. The lock is transaction-scoped: the
server releases it at commit or rollback, and when a process dies (its connection
goes). Other halls' batches go on meanwhile.

A SQLite file has one writer at a time anyway: nothing is taken there.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, bindparam, func, select

from spine.statement import Statement

LOCK_NAMESPACE = "hallwatch central ingest:"
"""Hashed before the hall's id, so the lock of another purpose (a later floor's engine tick)
can use keys of its own without meeting a hall's."""

_HOLD_HALL = Statement(lambda _dialect: select(func.pg_advisory_xact_lock(bindparam("key"))))


def hall_lock_key(hall: str) -> int:
    """The hall's advisory-lock key: the first 8 bytes of SHA-256 of `LOCK_NAMESPACE + hall`
    (UTF-8), big-endian, as a signed 64-bit integer (PostgreSQL's bigint).

    Stable across processes, machines, Python and PostgreSQL releases (Python's `hash` is
    salted per process, PostgreSQL's `hashtext` is not promised to stay), so every central
    process of any release takes the same lock for a hall; an operator can find it in
    `pg_locks` (`locktype = 'advisory'`, `objsubid = 1`: classid is the key's high 32 bits,
    objid its low 32). Two halls whose keys meet only wait for each other."""
    digest = hashlib.sha256((LOCK_NAMESPACE + hall).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def hold_hall(sql: Connection, hall: str) -> None:
    """Inside a transaction on `sql`: wait for, then hold until it ends, the hall's stream
    (nothing on SQLite, whose file has one writer at a time)."""
    if sql.dialect.name == "postgresql":
        _HOLD_HALL.run(sql, {"key": hall_lock_key(hall)})
