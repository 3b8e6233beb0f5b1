"""Footage holds: a camera and time range kept past retention, and the `held` flag they set.

`segments.held` is this module's cache of "an active hold covers it", kept
current when a hold is placed or released (and for new segments, through
`covers`), so retention can read unheld footage through a partial index.
Only this module writes it.
"""

from __future__ import annotations

from edge.camera_recorder.index.database import IndexDatabase
from edge.camera_recorder.index.models import HoldRecord, columns
from edge.camera_recorder.index.ranges import OVERLAPPING, overlapping
from edge.camera_recorder.index.reports import HOLDS, Reports

_COLUMNS = columns(HoldRecord)


class FootageHolds:
    """The `holds` table; every change a person made is reported upstream."""

    def __init__(self, database: IndexDatabase, reports: Reports) -> None:
        self._db = database
        self._reports = reports

    def place(self, hold: HoldRecord) -> tuple[HoldRecord, bool]:
        """Store a hold and mark the segments it covers; idempotent on the hold id.

        Returns the stored hold and whether it is new.
        """
        with self._db.transaction():
            existing = self.get(hold.id)
            if existing is not None:
                return existing, False
            self._db.run(
                f"INSERT INTO holds ({_COLUMNS}) VALUES ({', '.join('?' * 12)})",
                (
                    hold.id,
                    hold.camera,
                    hold.start_ms,
                    hold.end_ms,
                    hold.until_ms,
                    hold.who,
                    hold.why,
                    hold.placed_ms,
                    hold.source,
                    None,
                    None,
                    None,
                ),
            )
            self._db.run(
                f"UPDATE segments SET held = 1 WHERE {OVERLAPPING} AND held = 0",
                overlapping(hold.camera, hold.start_ms, hold.end_ms),
            )
            self._changed(hold)
        return hold, True

    def release(self, hold_id: str, by: str, why: str, at_ms: int) -> HoldRecord | None:
        """End a hold; its segments fall back under retention unless another hold covers them."""
        with self._db.transaction():
            hold = self.get(hold_id)
            if hold is None or hold.released_ms is not None:
                return hold
            self._db.run(
                "UPDATE holds SET released_ms = ?, released_by = ?, release_why = ? WHERE id = ?",
                (at_ms, by, why, hold_id),
            )
            self._db.run(
                "UPDATE segments SET held = EXISTS (SELECT 1 FROM holds h WHERE "
                "h.camera = segments.camera AND h.released_ms IS NULL AND h.until_ms > ? "
                "AND h.start_ms < segments.end_ms AND h.end_ms > segments.start_ms) "
                f"WHERE {OVERLAPPING} AND held = 1",
                (at_ms, *overlapping(hold.camera, hold.start_ms, hold.end_ms)),
            )
            self._changed(hold)
            return self.get(hold_id)

    def _changed(self, hold: HoldRecord) -> None:
        if not hold.guards_an_export:
            self._reports.mark_due(HOLDS, [hold.id])

    def covers(self, camera: str, start_ms: int, end_ms: int, now_ms: int) -> bool:
        """Whether an active hold covers part of [start_ms, end_ms) of `camera`."""
        row = self._db.one(
            "SELECT 1 FROM holds WHERE camera = ? AND released_ms IS NULL AND until_ms > ? "
            "AND start_ms < ? AND end_ms > ? LIMIT 1",
            (camera, now_ms, end_ms, start_ms),
        )
        return row is not None

    def get(self, hold_id: str) -> HoldRecord | None:
        row = self._db.one(f"SELECT {_COLUMNS} FROM holds WHERE id = ?", (hold_id,))
        return HoldRecord(*row) if row else None

    def all(self, *, active_only: bool = False) -> list[HoldRecord]:
        where = "WHERE released_ms IS NULL" if active_only else ""
        rows = self._db.all(f"SELECT {_COLUMNS} FROM holds {where} ORDER BY placed_ms")
        return [HoldRecord(*row) for row in rows]

    def expired(self, now_ms: int) -> list[HoldRecord]:
        """Active holds whose 'until' has passed."""
        rows = self._db.all(
            f"SELECT {_COLUMNS} FROM holds WHERE released_ms IS NULL AND until_ms <= ?",
            (now_ms,),
        )
        return [HoldRecord(*row) for row in rows]

    def held_in(self, hold: HoldRecord) -> tuple[int, int]:
        """(segments, bytes) currently kept for a hold's range."""
        row = self._db.one(
            f"SELECT count(*), coalesce(sum(bytes), 0) FROM segments WHERE {OVERLAPPING}",
            overlapping(hold.camera, hold.start_ms, hold.end_ms),
        )
        return (int(row[0]), int(row[1])) if row else (0, 0)
