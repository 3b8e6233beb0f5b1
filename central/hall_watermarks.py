"""How far each hall's stream is known complete at central: the hall's watermark.

The gateway forwards its outbox in the order it stored events, and removes an
event only once central has acknowledged it, after the durable commit. So:

- when central commits a batch, everything the gateway had stored up to the
  newest event in it has reached central: the watermark is that event's
  gateway stamp (`recv.at`, the gateway's clock when it stored it);
- a gateway heartbeat that reports an empty outbox (`outbox_events == 0`) says
  everything it stored before the heartbeat's `at` has reached central: a hall
  with nothing to say is still current.

Both are the gateway's clock, so each is capped by central's own clock at
receipt (a gateway clock running fast cannot push a watermark into the
future). The watermark only ever moves forward. It is kept in central's event
store, written in the same transaction as the batch that moves it, so it is
never ahead of what is stored; the case engine reads it at each tick
(`current`) and judges the hall's cases no further (`central.cases.sources`).
Its statements are written once for SQLite and PostgreSQL (`spine.statement`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, Table, Text, bindparam, select

from central.cases.sources import hall_source
from central.store import CentralStore
from spine.clock import Clock
from spine.handlers import HandlerContext
from spine.receiver import AcceptedEvent
from spine.statement import Statement, Tx, insert_for

SCHEMA = """
CREATE TABLE IF NOT EXISTS hall_watermarks (
    hall TEXT PRIMARY KEY,
    watermark INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
)
"""
WATERMARK_TABLES = MetaData()
HALL_WATERMARKS = Table(
    "hall_watermarks", WATERMARK_TABLES,
    Column("hall", Text, primary_key=True),
    Column("watermark", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
"""`SCHEMA` in SQLAlchemy Core (made on PostgreSQL by migration 0002)."""


def _advance(dialect: str) -> Any:
    insert = insert_for(dialect, HALL_WATERMARKS).values(
        hall=bindparam("hall"), watermark=bindparam("watermark"), updated_at=bindparam("updated_at"))
    # Only ever forward: a late batch with older stamps leaves the watermark where it is.
    return insert.on_conflict_do_update(
        index_elements=["hall"], set_={"watermark": insert.excluded.watermark,
                                       "updated_at": insert.excluded.updated_at},
        where=insert.excluded.watermark > HALL_WATERMARKS.c.watermark)


_ADVANCE = Statement(_advance)
_ALL = Statement(lambda _dialect: select(HALL_WATERMARKS.c.hall, HALL_WATERMARKS.c.watermark))
_ONE = Statement(lambda _dialect: select(HALL_WATERMARKS.c.watermark).where(
    HALL_WATERMARKS.c.hall == bindparam("hall")))


@dataclass(frozen=True)
class HallCompleteness:
    """What the supervisor is told about a hall's data (instants in ms)."""

    complete_until: int | None
    """The hall's facts are known up to here (None: it has never been heard from)."""
    incomplete_since: int | None
    """Set while the hall is behind: "data incomplete since ..."."""


class HallWatermarks:
    """A central handler (every stored event of a hall) and heartbeat listener that keeps
    each hall's watermark, in ms."""

    def __init__(self, store: CentralStore, clock: Clock, *, behind_after_s: int) -> None:
        self.store = store
        self.clock = clock
        self.behind_after_ms = behind_after_s * 1000
        self._written: dict[str, int] = {}
        """The last watermark written per hall: most events of a batch share their gateway
        stamp, so most need no write. (If a write was rolled back, the table is only lower:
        the next batch or heartbeat moves it on.)"""
        if store.url.is_sqlite:  # on PostgreSQL the table is the migrations'
            with store.transaction() as tx:
                tx.execute(SCHEMA)

    def handle(self, context: HandlerContext, event: AcceptedEvent) -> None:
        """A stored event: its hall's stream is complete up to the gateway's stamp on it."""
        received = event.envelope.recv
        if received is None:  # no gateway stamp: the device's own clock proves nothing
            return
        self._advance(context.portable, context.hall, min(received.at, context.now_ms), context.now_ms)

    def heartbeat(self, hall: str, beat: dict[str, Any]) -> None:
        """A gateway's heartbeat: with its outbox empty, the hall is complete up to its `at`."""
        at = beat.get("at")
        if beat.get("outbox_events") != 0 or not isinstance(at, int) or isinstance(at, bool):
            return
        now = self.clock.wall_ms()
        if min(at, now) <= self._written.get(hall, -1):
            return
        with self.store.sql_transaction() as tx:
            self._advance(tx, hall, min(at, now), now)

    def _advance(self, tx: Tx, hall: str, watermark: int, now_ms: int) -> None:
        if watermark <= self._written.get(hall, -1):
            return
        _ADVANCE.run(tx, {"hall": hall, "watermark": watermark, "updated_at": now_ms})
        self._written[hall] = watermark

    def current(self) -> dict[str, int]:
        """Every hall's watermark in epoch seconds, keyed by its case source (`hall:<hall>`)."""
        rows = self.store.read(lambda tx: _ALL.run(tx).fetchall())
        return {hall_source(hall): watermark // 1000 for hall, watermark in rows}

    def completeness(self, hall: str, now_ms: int) -> HallCompleteness:
        rows = self.store.read(lambda tx: _ONE.run(tx, {"hall": hall}).fetchall())
        if not rows:
            return HallCompleteness(None, None)
        watermark = int(rows[0][0])
        behind = now_ms - watermark > self.behind_after_ms
        return HallCompleteness(watermark, watermark if behind else None)


