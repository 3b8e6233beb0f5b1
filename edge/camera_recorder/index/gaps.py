"""Gaps: every stretch without footage, with its cause, open while it lasts."""

from __future__ import annotations

from collections.abc import Iterable

from edge.camera_recorder.index.database import IndexDatabase
from edge.camera_recorder.index.models import DeletedFootage, Gap, columns
from edge.camera_recorder.index.reports import GAPS, Reports

CONTIGUOUS_MS = 2_000  # segments this close are one recording; farther apart is a gap

_COLUMNS = columns(Gap)


class Gaps:
    """The `gaps` table. Closed gaps are reported upstream; open ones when they close."""

    def __init__(self, database: IndexDatabase, reports: Reports) -> None:
        self._db = database
        self._reports = reports

    def current(self, camera: str) -> Gap | None:
        """The camera's open gap, if its footage has stopped."""
        row = self._db.one(
            f"SELECT {_COLUMNS} FROM gaps WHERE camera = ? AND end_ms IS NULL "
            "ORDER BY id DESC LIMIT 1",
            (camera,),
        )
        return Gap(*row) if row else None

    def begin(self, camera: str, cause: str, at_ms: int, detail: str | None = None) -> Gap:
        """Footage of `camera` stops at `at_ms` for `cause`; one open gap per camera.

        An open gap of another cause ends where this one starts, so the
        timeline says what happened when (recorder down, then camera offline).
        """
        with self._db.transaction():
            gap = self.current(camera)
            if gap is not None:
                if gap.cause == cause:
                    return gap
                at_ms = max(at_ms, gap.start_ms)
                self._close(gap, at_ms)
            cursor = self._db.run(
                "INSERT INTO gaps (camera, start_ms, cause, detail) VALUES (?, ?, ?, ?)",
                (camera, at_ms, cause, detail),
            )
            gap_id = int(cursor.lastrowid or 0)
        return Gap(gap_id, camera, at_ms, None, cause, detail)

    def end(self, camera: str, at_ms: int) -> None:
        """Footage of `camera` resumed at `at_ms`: its open gaps close there."""
        with self._db.transaction():
            for row in self._db.all(
                f"SELECT {_COLUMNS} FROM gaps WHERE camera = ? AND end_ms IS NULL", (camera,)
            ):
                self._close(Gap(*row), at_ms)

    def _close(self, gap: Gap, at_ms: int) -> None:
        if at_ms <= gap.start_ms:
            # Footage resumed before the gap began (a restart within the same
            # segment): nothing was missed.
            self._db.run("DELETE FROM gaps WHERE id = ?", (gap.id,))
        else:
            self._db.run("UPDATE gaps SET end_ms = ? WHERE id = ?", (at_ms, gap.id))
            self._reports.mark_due(GAPS, [gap.id])

    def record_deleted(self, pieces: Iterable[DeletedFootage]) -> None:
        """Deleted footage becomes gaps of its cause, in the caller's transaction.

        Contiguous pieces make one gap, so a month of pruning is a handful of
        rows, yet a "camera offline" gap between them stays its own. Pieces of
        one camera must come in time order.
        """
        touched: set[int] = set()
        with self._db.transaction():
            for piece in pieces:
                touched.add(self._extend_or_add(piece))
            self._reports.mark_due(GAPS, sorted(touched))

    def _extend_or_add(self, piece: DeletedFootage) -> int:
        row = self._db.one(
            "SELECT id FROM gaps WHERE camera = ? AND cause = ? AND end_ms IS NOT NULL "
            "AND end_ms BETWEEN ? AND ? ORDER BY start_ms DESC LIMIT 1",
            (piece.camera, piece.cause, piece.start_ms - CONTIGUOUS_MS,
             piece.start_ms + CONTIGUOUS_MS),
        )
        if row is not None:
            self._db.run(
                "UPDATE gaps SET end_ms = max(end_ms, ?) WHERE id = ?", (piece.end_ms, row[0])
            )
            return int(row[0])
        cursor = self._db.run(
            "INSERT INTO gaps (camera, start_ms, end_ms, cause) VALUES (?, ?, ?, ?)",
            (piece.camera, piece.start_ms, piece.end_ms, piece.cause),
        )
        return int(cursor.lastrowid or 0)

    def between(self, camera: str, start_ms: int, end_ms: int) -> list[Gap]:
        """Gaps of `camera` overlapping [start_ms, end_ms), open ones included."""
        rows = self._db.all(
            f"SELECT {_COLUMNS} FROM gaps WHERE camera = ? AND start_ms < ? "
            "AND (end_ms IS NULL OR end_ms > ?) ORDER BY start_ms",
            (camera, end_ms, start_ms),
        )
        return [Gap(*row) for row in rows]

    def count_since(self, camera: str, since_ms: int) -> int:
        """Gaps that began since `since_ms`, pruning not counted: how unsteady the camera is."""
        row = self._db.one(
            "SELECT count(*) FROM gaps WHERE camera = ? AND start_ms >= ? "
            "AND cause NOT LIKE 'pruned%'",
            (camera, since_ms),
        )
        return int(row[0]) if row else 0
