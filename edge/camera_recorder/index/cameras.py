"""Cameras: run numbers, restarts, state, and the running totals the segment triggers keep."""

from __future__ import annotations

from edge.camera_recorder.index.database import IndexDatabase
from edge.camera_recorder.index.models import CameraTotals, columns

_COLUMNS = columns(CameraTotals)


class Cameras:
    """The `cameras` table: "how much is stored" is a sum over a few rows, never a scan."""

    def __init__(self, database: IndexDatabase) -> None:
        self._db = database

    def _ensure(self, camera: str) -> None:
        self._db.run("INSERT INTO cameras (id) VALUES (?) ON CONFLICT DO NOTHING", (camera,))

    def next_run(self, camera: str) -> int:
        """A new ffmpeg run number for `camera`: it names the run's files, so none collide."""
        with self._db.transaction():
            self._ensure(camera)
            self._db.run("UPDATE cameras SET runs = runs + 1 WHERE id = ?", (camera,))
            row = self._db.one("SELECT runs FROM cameras WHERE id = ?", (camera,))
        assert row is not None  # inserted above, in the same transaction
        return int(row[0])

    def count_restart(self, camera: str) -> None:
        self._db.run("UPDATE cameras SET restarts = restarts + 1 WHERE id = ?", (camera,))

    def set_state(self, camera: str, state: str, since_ms: int, detail: str | None) -> None:
        with self._db.transaction():
            self._ensure(camera)
            self._db.run(
                "UPDATE cameras SET state = ?, state_since = ?, detail = ? WHERE id = ?",
                (state, since_ms, detail, camera),
            )

    def all(self) -> list[CameraTotals]:
        return [
            CameraTotals(*row)
            for row in self._db.all(f"SELECT {_COLUMNS} FROM cameras ORDER BY id")
        ]

    def totals(self) -> tuple[int, int, int]:
        """(bytes, segments, held bytes) over every camera: a sum over a few rows."""
        row = self._db.one(
            "SELECT coalesce(sum(bytes), 0), coalesce(sum(segments), 0), "
            "coalesce(sum(held_bytes), 0) FROM cameras"
        )
        assert row is not None  # an aggregate always returns a row
        return int(row[0]), int(row[1]), int(row[2])
