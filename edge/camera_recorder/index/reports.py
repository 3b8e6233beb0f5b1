"""What central has not heard yet: one queue for gaps, holds and exports.

A part that changes a row central must hear about (a gap closed or grown, a
hold placed or ended, an export made) marks it due in the same transaction.
The recorder sends what is due and marks it sent only if it did not change
meanwhile, so a gap that grew while its report was on the way is sent again.
Rows written by another process (the CLI's holds and exports) become due the
same way, so only the running recorder writes the outbox.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from edge.camera_recorder.index.database import IndexDatabase, Row
from edge.camera_recorder.index.models import ExportRecord, Gap, HoldRecord, columns

T = TypeVar("T")
Key = int | str


@dataclass(frozen=True)
class Reportable(Generic[T]):
    """A table whose rows are reported upstream, and how to read one back."""

    kind: str
    table: str
    model: type[T]
    order_by: str
    """The order central has always heard them in."""

    def read(self, row: Row) -> T:
        return self.model(*row)


GAPS = Reportable("gap", "gaps", Gap, "t.id")
HOLDS = Reportable("hold", "holds", HoldRecord, "t.rowid")
EXPORTS = Reportable("export", "exports", ExportRecord, "t.created_ms")


@dataclass(frozen=True)
class Due(Generic[T]):
    """One row to report, as it was when read."""

    kind: str
    key: Key
    version: int
    item: T


class Reports:
    """The `unreported` table: mark due, list what is due, mark sent."""

    def __init__(self, database: IndexDatabase) -> None:
        self._db = database

    def mark_due(self, source: Reportable[Any], keys: Iterable[Key]) -> None:
        """Central must hear (again) about these rows; part of the caller's transaction."""
        self._db.run_many(
            "INSERT INTO unreported (kind, key) VALUES (?, ?) "
            "ON CONFLICT (kind, key) DO UPDATE SET version = version + 1",
            [(source.kind, key) for key in keys],
        )

    def pending(self, source: Reportable[T], limit: int = 200) -> list[Due[T]]:
        rows = self._db.all(
            f"SELECT u.key, u.version, {columns(source.model, prefix='t.')} "
            f"FROM unreported u JOIN {source.table} t ON t.id = u.key "
            f"WHERE u.kind = ? ORDER BY {source.order_by} LIMIT ?",
            (source.kind, limit),
        )
        return [Due(source.kind, row[0], row[1], source.read(row[2:])) for row in rows]

    def sent(self, due: Due[Any]) -> None:
        # Only if unchanged since it was read: a row changed meanwhile stays due.
        self._db.run(
            "DELETE FROM unreported WHERE kind = ? AND key = ? AND version = ?",
            (due.kind, due.key, due.version),
        )

