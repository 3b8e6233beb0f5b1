"""Segments: the recorded files, by camera and time, and their removal when pruned or lost.

Paths are relative to the storage root. Retention reads unheld segments
oldest first through partial indexes, so a pass costs what it deletes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from edge.camera_recorder.index.database import IndexDatabase
from edge.camera_recorder.index.gaps import Gaps
from edge.camera_recorder.index.holds import FootageHolds
from edge.camera_recorder.index.models import DeletedFootage, GapCause, NewSegment, Segment, columns
from edge.camera_recorder.index.ranges import OVERLAPPING, overlapping
from edge.camera_recorder.index.unlinks import PendingUnlinks
from edge.camera_recorder.retention import SegmentRef, Victim

_COLUMNS = columns(Segment)
_REF_COLUMNS = columns(SegmentRef)


class Segments:
    """The `segments` table; adding one ends its camera's gap, removing one records a gap."""

    def __init__(
        self, database: IndexDatabase, gaps: Gaps, holds: FootageHolds, unlinks: PendingUnlinks
    ) -> None:
        self._db = database
        self._gaps = gaps
        self._holds = holds
        self._unlinks = unlinks

    def add(self, new: NewSegment, now_ms: int) -> Segment | None:
        """Index a closed segment, mark it held if a hold covers it, and end the camera's gap.

        Returns None when the path was indexed already (a list line read twice).
        """
        with self._db.transaction():
            held = self._holds.covers(new.camera, new.start_ms, new.end_ms, now_ms)
            cursor = self._db.run(
                "INSERT INTO segments (camera, start_ms, end_ms, path, bytes, run, held, partial) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO NOTHING",
                (new.camera, new.start_ms, new.end_ms, new.path, new.bytes, new.run, int(held),
                 int(new.partial)),
            )
            if cursor.rowcount == 0:
                return None
            self._gaps.end(new.camera, new.start_ms)
            row = self._db.one(f"SELECT {_COLUMNS} FROM segments WHERE id = ?", (cursor.lastrowid,))
        return Segment.from_row(row) if row else None

    def has_path(self, path: str) -> bool:
        return self._db.one("SELECT 1 FROM segments WHERE path = ?", (path,)) is not None

    def first(self, camera: str) -> Segment | None:
        return next(iter(self._by_start(camera, 1, newest_first=False)), None)

    def last(self, camera: str) -> Segment | None:
        return next(iter(self.recent(camera, 1)), None)

    def recent(self, camera: str, count: int) -> list[Segment]:
        """The newest `count` segments of `camera`, newest first."""
        return self._by_start(camera, count, newest_first=True)

    def _by_start(self, camera: str, count: int, *, newest_first: bool) -> list[Segment]:
        rows = self._db.all(
            f"SELECT {_COLUMNS} FROM segments WHERE camera = ? "
            f"ORDER BY start_ms {'DESC' if newest_first else 'ASC'} LIMIT ?",
            (camera, count),
        )
        return [Segment.from_row(row) for row in rows]

    def recent_rate(self, camera: str, count: int) -> tuple[int, int, int]:
        """(bytes, duration ms, segments) of the newest `count` whole segments of `camera`."""
        row = self._db.one(
            "SELECT coalesce(sum(bytes), 0), coalesce(sum(end_ms - start_ms), 0), count(*) "
            "FROM (SELECT bytes, start_ms, end_ms FROM segments WHERE camera = ? "
            "AND partial = 0 ORDER BY start_ms DESC LIMIT ?)",
            (camera, count),
        )
        return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)

    def between(self, camera: str, start_ms: int, end_ms: int) -> list[Segment]:
        """Segments of `camera` overlapping [start_ms, end_ms), in time order."""
        rows = self._db.all(
            f"SELECT {_COLUMNS} FROM segments WHERE {OVERLAPPING} ORDER BY start_ms",
            overlapping(camera, start_ms, end_ms),
        )
        return [Segment.from_row(row) for row in rows]

    def after_id(self, after_id: int, limit: int) -> list[Segment]:
        """The next `limit` segments in the order they were indexed: for cursors that walk them all."""
        rows = self._db.all(
            f"SELECT {_COLUMNS} FROM segments WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
        )
        return [Segment.from_row(row) for row in rows]

    def unheld(self, camera: str | None = None, chunk: int = 1024) -> Iterator[SegmentRef]:
        """Unheld segments oldest first (of one camera, or all), read lazily in chunks.

        Chunks (keyset pagination) keep the lock short, so recording threads
        are not held up by a long retention pass. The first chunk is small and
        chunks grow, because a typical pass keeps the first segment it reads.
        """
        fixed: tuple[str, ...]
        if camera is None:
            source, of_camera, fixed = "segments_unheld", "", ()
        else:
            source, of_camera, fixed = "segments_unheld_by_camera", "camera = ? AND ", (camera,)
        sql = (
            f"SELECT {_REF_COLUMNS} FROM segments INDEXED BY {source} WHERE {of_camera}held = 0 "
            "AND (start_ms, id) > (?, ?) ORDER BY start_ms, id LIMIT ?"
        )
        after = (-(2**62), -1)
        size = min(4, chunk)
        while True:
            rows = self._db.all(sql, (*fixed, *after, size))
            for row in rows:
                yield SegmentRef(*row)
            if len(rows) < size:
                return
            after = (rows[-1][2], rows[-1][0])
            size = min(chunk, size * 4)

    def prune(self, victims: Iterable[Victim]) -> list[str]:
        """Drop pruned segments, record the pruned time as gaps, queue the unlinks; one commit.

        Returns the paths to unlink (see `PendingUnlinks`).
        """
        ordered = sorted(victims, key=lambda v: (v.segment.camera, v.segment.start_ms))
        paths: list[str] = []
        deleted: list[DeletedFootage] = []
        with self._db.transaction():
            for victim in ordered:
                # `held = 0`: a hold placed since the plan was made wins.
                row = self._db.one(
                    "DELETE FROM segments WHERE id = ? AND held = 0 RETURNING path",
                    (victim.segment.id,),
                )
                if row is None:
                    continue
                paths.append(row[0])
                segment = victim.segment
                deleted.append(
                    DeletedFootage(segment.camera, segment.start_ms, segment.end_ms, victim.cause.value)
                )
            self._unlinks.queue(paths)
            self._gaps.record_deleted(deleted)
        return paths

    def forget_missing(self, segment: Segment) -> None:
        """A file the index lists is gone: drop the row, record the hole as `file_missing`."""
        with self._db.transaction():
            if self._db.run("DELETE FROM segments WHERE id = ?", (segment.id,)).rowcount:
                self._gaps.record_deleted(
                    [DeletedFootage(segment.camera, segment.start_ms, segment.end_ms,
                                    GapCause.FILE_MISSING.value)]
                )
