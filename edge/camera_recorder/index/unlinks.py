"""The prune journal: files whose index rows are gone and which must now leave the disk.

A prune commits the rows' deletion and these paths in one transaction, then
unlinks; after a crash in between, start-up finishes the list. So the index
never names a deleted file and no pruned file stays behind unindexed.
"""

from __future__ import annotations

from collections.abc import Iterable

from edge.camera_recorder.index.database import IndexDatabase


class PendingUnlinks:
    """The `pending_unlink` table."""

    def __init__(self, database: IndexDatabase) -> None:
        self._db = database

    def queue(self, paths: Iterable[str]) -> None:
        """Part of the transaction that deletes their segments."""
        self._db.run_many(
            "INSERT INTO pending_unlink (path) VALUES (?) ON CONFLICT DO NOTHING",
            [(path,) for path in paths],
        )

    def pending(self, limit: int = 10_000) -> list[str]:
        return [row[0] for row in self._db.all("SELECT path FROM pending_unlink LIMIT ?", (limit,))]

    def done(self, paths: Iterable[str]) -> None:
        """These files are gone from the disk."""
        with self._db.transaction():
            self._db.run_many(
                "DELETE FROM pending_unlink WHERE path = ?", [(path,) for path in paths]
            )
