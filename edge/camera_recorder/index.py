"""The footage index: segments, gaps, holds and exports in one SQLite file (WAL).

The index, not the directory tree, is what the recorder consults: retention
reads segments by time through partial indexes on unheld rows, and running
totals per camera (kept by triggers) answer "how much is stored" without a
scan. Paths are stored relative to the storage root.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from edge.camera_recorder.retention import PruneCause, SegmentRef, Victim
from spine.sqlite import Transaction, open_database

SCHEMA_VERSION = "1"
MAX_SEGMENT_MS = 3_600_000  # segment_s is at most an hour: bounds time-range lookups
CONTIGUOUS_MS = 2_000  # segments this close are one recording; farther apart is a gap

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cameras (
    id TEXT PRIMARY KEY,
    runs INTEGER NOT NULL DEFAULT 0,
    restarts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'unknown',
    state_since INTEGER,
    detail TEXT,
    bytes INTEGER NOT NULL DEFAULT 0,
    segments INTEGER NOT NULL DEFAULT 0,
    held_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    camera TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    path TEXT NOT NULL UNIQUE,
    bytes INTEGER NOT NULL,
    run INTEGER NOT NULL,
    held INTEGER NOT NULL DEFAULT 0,
    partial INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS segments_by_camera ON segments (camera, start_ms);
CREATE INDEX IF NOT EXISTS segments_unheld ON segments (start_ms) WHERE held = 0;
CREATE INDEX IF NOT EXISTS segments_unheld_by_camera ON segments (camera, start_ms)
    WHERE held = 0;
CREATE TRIGGER IF NOT EXISTS segments_added AFTER INSERT ON segments BEGIN
    INSERT INTO cameras (id) VALUES (NEW.camera) ON CONFLICT DO NOTHING;
    UPDATE cameras SET bytes = bytes + NEW.bytes, segments = segments + 1,
        held_bytes = held_bytes + NEW.held * NEW.bytes WHERE id = NEW.camera;
END;
CREATE TRIGGER IF NOT EXISTS segments_removed AFTER DELETE ON segments BEGIN
    UPDATE cameras SET bytes = bytes - OLD.bytes, segments = segments - 1,
        held_bytes = held_bytes - OLD.held * OLD.bytes WHERE id = OLD.camera;
END;
CREATE TRIGGER IF NOT EXISTS segments_changed AFTER UPDATE OF held, bytes ON segments BEGIN
    UPDATE cameras SET bytes = bytes - OLD.bytes + NEW.bytes,
        held_bytes = held_bytes - OLD.held * OLD.bytes + NEW.held * NEW.bytes
        WHERE id = NEW.camera;
END;
CREATE TABLE IF NOT EXISTS gaps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    camera TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER,
    cause TEXT NOT NULL,
    detail TEXT,
    reported INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS gaps_by_camera ON gaps (camera, start_ms);
CREATE INDEX IF NOT EXISTS gaps_open ON gaps (camera) WHERE end_ms IS NULL;
CREATE INDEX IF NOT EXISTS gaps_unreported ON gaps (id) WHERE reported = 0;
CREATE TABLE IF NOT EXISTS holds (
    id TEXT PRIMARY KEY,
    camera TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    until_ms INTEGER NOT NULL,
    who TEXT NOT NULL,
    why TEXT NOT NULL,
    placed_ms INTEGER NOT NULL,
    source TEXT NOT NULL,
    released_ms INTEGER,
    released_by TEXT,
    release_why TEXT,
    reported_state TEXT
);
CREATE INDEX IF NOT EXISTS holds_active ON holds (camera) WHERE released_ms IS NULL;
CREATE TABLE IF NOT EXISTS exports (
    id TEXT PRIMARY KEY,
    camera TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    who TEXT NOT NULL,
    why TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    clip_path TEXT NOT NULL,
    clip_bytes INTEGER NOT NULL,
    clip_sha256 TEXT NOT NULL,
    manifest TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    reported INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS pending_unlink (path TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS alarms (
    code TEXT PRIMARY KEY,
    raised_ms INTEGER NOT NULL,
    message TEXT NOT NULL
);
"""


class GapCause(StrEnum):
    """Why there is no footage: "never recorded" and "deleted" are never confused."""

    CAMERA_OFFLINE = "camera_offline"  # no connection, or the stream ended
    STALLED = "stalled"  # connected but no data (camera or ffmpeg hung)
    RECORDER_DOWN = "recorder_down"  # the recorder was not running (crash, power cut, stop)
    WRITE_FAILURE = "write_failure"  # ffmpeg could not write (disk full, I/O error)
    FILE_MISSING = "file_missing"  # indexed, then deleted behind the recorder's back
    PRUNED_AGE = PruneCause.AGE.value
    PRUNED_BUDGET = PruneCause.BUDGET.value


@dataclass(frozen=True)
class Segment:
    id: int
    camera: str
    start_ms: int
    end_ms: int
    path: str
    bytes: int
    run: int
    held: bool
    partial: bool

    def ref(self) -> SegmentRef:
        return SegmentRef(self.id, self.camera, self.start_ms, self.end_ms, self.bytes)


@dataclass(frozen=True)
class NewSegment:
    camera: str
    start_ms: int
    end_ms: int
    path: str
    bytes: int
    run: int
    partial: bool = False


@dataclass(frozen=True)
class Gap:
    id: int
    camera: str
    start_ms: int
    end_ms: int | None
    cause: str
    detail: str | None


@dataclass(frozen=True)
class Hold:
    id: str
    camera: str
    start_ms: int
    end_ms: int
    until_ms: int
    who: str
    why: str
    placed_ms: int
    source: str
    released_ms: int | None
    released_by: str | None
    release_why: str | None
    reported_state: str | None

    @property
    def state(self) -> str:
        if self.released_ms is None:
            return "active"
        return "expired" if self.released_by == "expiry" else "released"


@dataclass(frozen=True)
class ExportRecord:
    id: str
    camera: str
    start_ms: int
    end_ms: int
    who: str
    why: str
    created_ms: int
    clip_path: str
    clip_bytes: int
    clip_sha256: str
    manifest: str
    manifest_sha256: str


@dataclass(frozen=True)
class CameraTotals:
    id: str
    runs: int
    restarts: int
    state: str
    state_since: int | None
    detail: str | None
    bytes: int
    segments: int
    held_bytes: int


_SEGMENT_COLUMNS = "id, camera, start_ms, end_ms, path, bytes, run, held, partial"
_HOLD_COLUMNS = (
    "id, camera, start_ms, end_ms, until_ms, who, why, placed_ms, source, "
    "released_ms, released_by, release_why, reported_state"
)
_EXPORT_COLUMNS = (
    "id, camera, start_ms, end_ms, who, why, created_ms, clip_path, clip_bytes, "
    "clip_sha256, manifest, manifest_sha256"
)


def _segment(row: tuple[Any, ...]) -> Segment:
    return Segment(
        id=row[0], camera=row[1], start_ms=row[2], end_ms=row[3], path=row[4], bytes=row[5],
        run=row[6], held=bool(row[7]), partial=bool(row[8]),
    )


class FootageIndex:
    """Thread-safe access to the index; every write is one durable transaction."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = open_database(self.path, page_size=4096)
        self._lock = threading.RLock()
        with self._lock:
            self._db.executescript(SCHEMA)
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema', ?) ON CONFLICT DO NOTHING",
                (SCHEMA_VERSION,),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    # --- meta ---------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # --- cameras ------------------------------------------------------------

    def next_run(self, camera: str) -> int:
        """A new ffmpeg run number for `camera`: it names the run's files, so none collide."""
        with self._lock, Transaction(self._db):
            self._db.execute("INSERT INTO cameras (id) VALUES (?) ON CONFLICT DO NOTHING", (camera,))
            self._db.execute("UPDATE cameras SET runs = runs + 1 WHERE id = ?", (camera,))
            (runs,) = self._db.execute("SELECT runs FROM cameras WHERE id = ?", (camera,)).fetchone()
        return int(runs)

    def count_restart(self, camera: str) -> None:
        with self._lock:
            self._db.execute("UPDATE cameras SET restarts = restarts + 1 WHERE id = ?", (camera,))

    def set_camera_state(self, camera: str, state: str, since_ms: int, detail: str | None) -> None:
        with self._lock:
            self._db.execute("INSERT INTO cameras (id) VALUES (?) ON CONFLICT DO NOTHING", (camera,))
            self._db.execute(
                "UPDATE cameras SET state = ?, state_since = ?, detail = ? WHERE id = ?",
                (state, since_ms, detail, camera),
            )

    def cameras(self) -> list[CameraTotals]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, runs, restarts, state, state_since, detail, bytes, segments, held_bytes "
                "FROM cameras ORDER BY id"
            ).fetchall()
        return [CameraTotals(*row) for row in rows]

    def totals(self) -> tuple[int, int, int]:
        """(bytes, segments, held bytes) over every camera: a sum over a few rows."""
        with self._lock:
            row = self._db.execute(
                "SELECT coalesce(sum(bytes), 0), coalesce(sum(segments), 0), "
                "coalesce(sum(held_bytes), 0) FROM cameras"
            ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    # --- segments -----------------------------------------------------------

    def add_segment(self, new: NewSegment, now_ms: int) -> Segment | None:
        """Index a closed segment, mark it held if a hold covers it, and end the camera's gap.

        Returns None when the path was indexed already (a list line read twice).
        """
        with self._lock, Transaction(self._db):
            held = self._covered_by_hold(new.camera, new.start_ms, new.end_ms, now_ms)
            cursor = self._db.execute(
                "INSERT INTO segments (camera, start_ms, end_ms, path, bytes, run, held, partial) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO NOTHING",
                (
                    new.camera,
                    new.start_ms,
                    new.end_ms,
                    new.path,
                    new.bytes,
                    new.run,
                    int(held),
                    int(new.partial),
                ),
            )
            if cursor.rowcount == 0:
                return None
            self._end_gap(new.camera, new.start_ms)
            row = self._db.execute(
                f"SELECT {_SEGMENT_COLUMNS} FROM segments WHERE id = ?", (cursor.lastrowid,)
            ).fetchone()
        return _segment(row)

    def _covered_by_hold(self, camera: str, start_ms: int, end_ms: int, now_ms: int) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM holds WHERE camera = ? AND released_ms IS NULL AND until_ms > ? "
            "AND start_ms < ? AND end_ms > ? LIMIT 1",
            (camera, now_ms, end_ms, start_ms),
        ).fetchone()
        return row is not None

    def has_path(self, path: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM segments WHERE path = ?", (path,)).fetchone()
        return row is not None

    def last_segment(self, camera: str) -> Segment | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_SEGMENT_COLUMNS} FROM segments WHERE camera = ? "
                "ORDER BY start_ms DESC LIMIT 1",
                (camera,),
            ).fetchone()
        return _segment(row) if row else None

    def first_segment(self, camera: str) -> Segment | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_SEGMENT_COLUMNS} FROM segments WHERE camera = ? "
                "ORDER BY start_ms LIMIT 1",
                (camera,),
            ).fetchone()
        return _segment(row) if row else None

    def recent_segments(self, camera: str, count: int) -> list[Segment]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_SEGMENT_COLUMNS} FROM segments WHERE camera = ? "
                "ORDER BY start_ms DESC LIMIT ?",
                (camera, count),
            ).fetchall()
        return [_segment(row) for row in rows]

    def recent_rate(self, camera: str, count: int) -> tuple[int, int, int]:
        """(bytes, duration ms, segments) of the newest `count` whole segments of `camera`."""
        with self._lock:
            row = self._db.execute(
                "SELECT coalesce(sum(bytes), 0), coalesce(sum(end_ms - start_ms), 0), count(*) "
                "FROM (SELECT bytes, start_ms, end_ms FROM segments WHERE camera = ? "
                "AND partial = 0 ORDER BY start_ms DESC LIMIT ?)",
                (camera, count),
            ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def segments_between(self, camera: str, start_ms: int, end_ms: int) -> list[Segment]:
        """Segments of `camera` overlapping [start_ms, end_ms), in time order."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_SEGMENT_COLUMNS} FROM segments WHERE camera = ? "
                "AND start_ms > ? AND start_ms < ? AND end_ms > ? ORDER BY start_ms",
                (camera, start_ms - MAX_SEGMENT_MS, end_ms, start_ms),
            ).fetchall()
        return [_segment(row) for row in rows]

    def segments_after_id(self, after_id: int, limit: int) -> list[Segment]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_SEGMENT_COLUMNS} FROM segments WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [_segment(row) for row in rows]

    def iter_unheld(self, camera: str | None = None, chunk: int = 1024) -> Iterator[SegmentRef]:
        """Unheld segments oldest first, read lazily in chunks through a partial index.

        Chunks (keyset pagination) keep the lock short, so recording threads
        are not held up by a long retention pass. The first chunk is small and
        chunks grow, because a typical pass keeps the first segment it reads.
        """
        after = (-(2**62), -1)
        size = min(4, chunk)
        while True:
            with self._lock:
                if camera is None:
                    rows = self._db.execute(
                        "SELECT id, camera, start_ms, end_ms, bytes FROM segments "
                        "INDEXED BY segments_unheld WHERE held = 0 AND (start_ms, id) > (?, ?) "
                        "ORDER BY start_ms, id LIMIT ?",
                        (*after, size),
                    ).fetchall()
                else:
                    rows = self._db.execute(
                        "SELECT id, camera, start_ms, end_ms, bytes FROM segments "
                        "INDEXED BY segments_unheld_by_camera WHERE camera = ? AND held = 0 "
                        "AND (start_ms, id) > (?, ?) ORDER BY start_ms, id LIMIT ?",
                        (camera, *after, size),
                    ).fetchall()
            for row in rows:
                yield SegmentRef(*row)
            if len(rows) < size:
                return
            after = (rows[-1][2], rows[-1][0])
            size = min(chunk, size * 4)

    def remove_segments(self, victims: Iterable[Victim]) -> list[str]:
        """Drop pruned segments from the index, record the pruned time as gaps, queue the unlinks.

        One transaction: after a crash the files named in `pending_unlink` are
        deleted at start-up, so the index never points at a deleted file and no
        pruned file is left behind unindexed.
        """
        victims = sorted(victims, key=lambda v: (v.segment.camera, v.segment.start_ms))
        paths: list[str] = []
        with self._lock, Transaction(self._db):
            for victim in victims:
                # `held = 0`: a hold placed since the plan was made wins.
                row = self._db.execute(
                    "DELETE FROM segments WHERE id = ? AND held = 0 RETURNING path",
                    (victim.segment.id,),
                ).fetchone()
                if row is None:
                    continue
                paths.append(row[0])
                self._db.execute(
                    "INSERT INTO pending_unlink (path) VALUES (?) ON CONFLICT DO NOTHING", (row[0],)
                )
                self._extend_or_add_gap(
                    victim.segment.camera,
                    victim.segment.start_ms,
                    victim.segment.end_ms,
                    victim.cause.value,
                )
        return paths

    def forget_missing(self, segment: Segment) -> None:
        """A file the index lists is gone: drop the row, record the hole as `file_missing`."""
        with self._lock, Transaction(self._db):
            deleted = self._db.execute("DELETE FROM segments WHERE id = ?", (segment.id,)).rowcount
            if deleted:
                self._extend_or_add_gap(
                    segment.camera, segment.start_ms, segment.end_ms, GapCause.FILE_MISSING.value
                )

    def _extend_or_add_gap(self, camera: str, start_ms: int, end_ms: int, cause: str) -> None:
        # Contiguous deleted segments make one gap, so a month of pruning is a
        # handful of rows, yet a "camera offline" gap between them stays its own.
        row = self._db.execute(
            "SELECT id FROM gaps WHERE camera = ? AND cause = ? AND end_ms IS NOT NULL "
            "AND end_ms BETWEEN ? AND ? ORDER BY start_ms DESC LIMIT 1",
            (camera, cause, start_ms - CONTIGUOUS_MS, start_ms + CONTIGUOUS_MS),
        ).fetchone()
        if row is not None:
            self._db.execute(
                "UPDATE gaps SET end_ms = max(end_ms, ?), reported = 0 WHERE id = ?",
                (end_ms, row[0]),
            )
        else:
            self._db.execute(
                "INSERT INTO gaps (camera, start_ms, end_ms, cause) VALUES (?, ?, ?, ?)",
                (camera, start_ms, end_ms, cause),
            )

    def pending_unlinks(self, limit: int = 10_000) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT path FROM pending_unlink LIMIT ?", (limit,)).fetchall()
        return [row[0] for row in rows]

    def unlinked(self, paths: Iterable[str]) -> None:
        with self._lock, Transaction(self._db):
            self._db.executemany(
                "DELETE FROM pending_unlink WHERE path = ?", [(path,) for path in paths]
            )

    def update_segment_size(self, segment_id: int, size: int) -> None:
        with self._lock:
            self._db.execute("UPDATE segments SET bytes = ? WHERE id = ?", (size, segment_id))

    # --- gaps -------------------------------------------------------------------

    def open_gap(self, camera: str) -> Gap | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, camera, start_ms, end_ms, cause, detail FROM gaps "
                "WHERE camera = ? AND end_ms IS NULL ORDER BY id DESC LIMIT 1",
                (camera,),
            ).fetchone()
        return Gap(*row) if row else None

    def begin_gap(self, camera: str, cause: str, at_ms: int, detail: str | None = None) -> Gap:
        """Footage of `camera` stops at `at_ms` for `cause`; one open gap per camera.

        An open gap of another cause ends where this one starts, so the
        timeline says what happened when (recorder down, then camera offline).
        """
        with self._lock, Transaction(self._db):
            current = self._db.execute(
                "SELECT id, camera, start_ms, end_ms, cause, detail FROM gaps "
                "WHERE camera = ? AND end_ms IS NULL ORDER BY id DESC LIMIT 1",
                (camera,),
            ).fetchone()
            if current is not None:
                gap = Gap(*current)
                if gap.cause == cause:
                    return gap
                at_ms = max(at_ms, gap.start_ms)
                self._close(gap, at_ms)
            cursor = self._db.execute(
                "INSERT INTO gaps (camera, start_ms, cause, detail) VALUES (?, ?, ?, ?)",
                (camera, at_ms, cause, detail),
            )
            gap_id = int(cursor.lastrowid or 0)
        return Gap(gap_id, camera, at_ms, None, cause, detail)

    def end_gap(self, camera: str, at_ms: int) -> None:
        with self._lock, Transaction(self._db):
            self._end_gap(camera, at_ms)

    def _end_gap(self, camera: str, at_ms: int) -> None:
        row = self._db.execute(
            "SELECT id, camera, start_ms, end_ms, cause, detail FROM gaps "
            "WHERE camera = ? AND end_ms IS NULL",
            (camera,),
        ).fetchall()
        for current in row:
            self._close(Gap(*current), at_ms)

    def _close(self, gap: Gap, at_ms: int) -> None:
        if at_ms <= gap.start_ms:
            # Footage resumed before the gap began (a restart within the same
            # segment): nothing was missed.
            self._db.execute("DELETE FROM gaps WHERE id = ?", (gap.id,))
        else:
            self._db.execute(
                "UPDATE gaps SET end_ms = ?, reported = 0 WHERE id = ?", (at_ms, gap.id)
            )

    def gaps_between(self, camera: str, start_ms: int, end_ms: int) -> list[Gap]:
        """Gaps of `camera` overlapping [start_ms, end_ms), open ones included."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, camera, start_ms, end_ms, cause, detail FROM gaps "
                "WHERE camera = ? AND start_ms < ? AND (end_ms IS NULL OR end_ms > ?) "
                "ORDER BY start_ms",
                (camera, end_ms, start_ms),
            ).fetchall()
        return [Gap(*row) for row in rows]

    def unreported_gaps(self, limit: int = 200) -> list[Gap]:
        """Closed gaps not yet sent upstream (open ones are reported when they close)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, camera, start_ms, end_ms, cause, detail FROM gaps "
                "INDEXED BY gaps_unreported WHERE reported = 0 AND end_ms IS NOT NULL "
                "ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()
        return [Gap(*row) for row in rows]

    def mark_gap_reported(self, gap: Gap) -> None:
        # Only if unchanged since it was read: a gap extended meanwhile is sent again.
        with self._lock:
            self._db.execute(
                "UPDATE gaps SET reported = 1 WHERE id = ? AND end_ms = ?", (gap.id, gap.end_ms)
            )

    def gap_count_since(self, camera: str, since_ms: int) -> int:
        with self._lock:
            (count,) = self._db.execute(
                "SELECT count(*) FROM gaps WHERE camera = ? AND start_ms >= ? "
                "AND cause NOT LIKE 'pruned%'",
                (camera, since_ms),
            ).fetchone()
        return int(count)

    # --- holds --------------------------------------------------------------------

    def place_hold(self, hold: Hold) -> tuple[Hold, bool]:
        """Store a hold and mark the segments it covers; idempotent on the hold id.

        Returns the stored hold and whether it is new.
        """
        with self._lock, Transaction(self._db):
            existing = self._db.execute(
                f"SELECT {_HOLD_COLUMNS} FROM holds WHERE id = ?", (hold.id,)
            ).fetchone()
            if existing is not None:
                return Hold(*existing), False
            self._db.execute(
                f"INSERT INTO holds ({_HOLD_COLUMNS}) VALUES ({', '.join('?' * 13)})",
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
                    hold.reported_state,
                ),
            )
            self._db.execute(
                "UPDATE segments SET held = 1 WHERE camera = ? AND start_ms > ? "
                "AND start_ms < ? AND end_ms > ? AND held = 0",
                (hold.camera, hold.start_ms - MAX_SEGMENT_MS, hold.end_ms, hold.start_ms),
            )
        return hold, True

    def release_hold(self, hold_id: str, by: str, why: str, at_ms: int) -> Hold | None:
        """End a hold; its segments fall back under retention unless another hold covers them."""
        with self._lock, Transaction(self._db):
            row = self._db.execute(
                f"SELECT {_HOLD_COLUMNS} FROM holds WHERE id = ?", (hold_id,)
            ).fetchone()
            if row is None:
                return None
            hold = Hold(*row)
            if hold.released_ms is not None:
                return hold
            self._db.execute(
                "UPDATE holds SET released_ms = ?, released_by = ?, release_why = ? WHERE id = ?",
                (at_ms, by, why, hold_id),
            )
            self._db.execute(
                "UPDATE segments SET held = EXISTS (SELECT 1 FROM holds h WHERE "
                "h.camera = segments.camera AND h.released_ms IS NULL AND h.until_ms > ? "
                "AND h.start_ms < segments.end_ms AND h.end_ms > segments.start_ms) "
                "WHERE camera = ? AND start_ms > ? AND start_ms < ? AND end_ms > ? AND held = 1",
                (at_ms, hold.camera, hold.start_ms - MAX_SEGMENT_MS, hold.end_ms, hold.start_ms),
            )
            row = self._db.execute(
                f"SELECT {_HOLD_COLUMNS} FROM holds WHERE id = ?", (hold_id,)
            ).fetchone()
        return Hold(*row)

    def expired_holds(self, now_ms: int) -> list[Hold]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_HOLD_COLUMNS} FROM holds WHERE released_ms IS NULL AND until_ms <= ?",
                (now_ms,),
            ).fetchall()
        return [Hold(*row) for row in rows]

    def hold(self, hold_id: str) -> Hold | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_HOLD_COLUMNS} FROM holds WHERE id = ?", (hold_id,)
            ).fetchone()
        return Hold(*row) if row else None

    def holds(self, *, active_only: bool = False) -> list[Hold]:
        where = "WHERE released_ms IS NULL" if active_only else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_HOLD_COLUMNS} FROM holds {where} ORDER BY placed_ms"
            ).fetchall()
        return [Hold(*row) for row in rows]

    def held_in(self, hold: Hold) -> tuple[int, int]:
        """(segments, bytes) currently kept for a hold's range."""
        with self._lock:
            row = self._db.execute(
                "SELECT count(*), coalesce(sum(bytes), 0) FROM segments WHERE camera = ? "
                "AND start_ms > ? AND start_ms < ? AND end_ms > ?",
                (hold.camera, hold.start_ms - MAX_SEGMENT_MS, hold.end_ms, hold.start_ms),
            ).fetchone()
        return int(row[0]), int(row[1])

    def holds_to_report(self) -> list[Hold]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_HOLD_COLUMNS} FROM holds WHERE reported_state IS NULL "
                "OR (released_ms IS NOT NULL AND reported_state = 'active')"
            ).fetchall()
        return [Hold(*row) for row in rows]

    def mark_hold_reported(self, hold_id: str, state: str) -> None:
        with self._lock:
            self._db.execute("UPDATE holds SET reported_state = ? WHERE id = ?", (state, hold_id))

    # --- exports ---------------------------------------------------------------------

    def add_export(self, record: ExportRecord) -> None:
        with self._lock, Transaction(self._db):
            self._db.execute(
                f"INSERT INTO exports ({_EXPORT_COLUMNS}) VALUES ({', '.join('?' * 12)})",
                (
                    record.id,
                    record.camera,
                    record.start_ms,
                    record.end_ms,
                    record.who,
                    record.why,
                    record.created_ms,
                    record.clip_path,
                    record.clip_bytes,
                    record.clip_sha256,
                    record.manifest,
                    record.manifest_sha256,
                ),
            )

    def export(self, export_id: str) -> ExportRecord | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_EXPORT_COLUMNS} FROM exports WHERE id = ?", (export_id,)
            ).fetchone()
        return ExportRecord(*row) if row else None

    def exports_to_report(self) -> list[ExportRecord]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_EXPORT_COLUMNS} FROM exports WHERE reported = 0 ORDER BY created_ms"
            ).fetchall()
        return [ExportRecord(*row) for row in rows]

    def mark_export_reported(self, export_id: str) -> None:
        with self._lock:
            self._db.execute("UPDATE exports SET reported = 1 WHERE id = ?", (export_id,))

    # --- alarms ------------------------------------------------------------------------

    def set_alarm(self, code: str, raised_ms: int, message: str) -> bool:
        """Raise or refresh an alarm; True when it was not raised before."""
        with self._lock, Transaction(self._db):
            updated = self._db.execute(
                "UPDATE alarms SET message = ? WHERE code = ?", (message, code)
            ).rowcount
            if updated:
                return False
            self._db.execute(
                "INSERT INTO alarms (code, raised_ms, message) VALUES (?, ?, ?)",
                (code, raised_ms, message),
            )
        return True

    def clear_alarm(self, code: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM alarms WHERE code = ?", (code,)).rowcount > 0

    def alarms(self) -> list[tuple[str, int, str]]:
        with self._lock:
            return [
                (str(c), int(t), str(m))
                for c, t, m in self._db.execute(
                    "SELECT code, raised_ms, message FROM alarms ORDER BY code"
                )
            ]

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read-only queries for diagnostics and tests."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()


def connection_for_tests(index: FootageIndex) -> sqlite3.Connection:
    """The raw connection, for tests that must corrupt the index on purpose."""
    return index._db
