"""Exports: each evidence clip's record, with the manifest and hashes `verify` compares against."""

from __future__ import annotations

from dataclasses import astuple

from edge.camera_recorder.index.database import IndexDatabase
from edge.camera_recorder.index.models import ExportRecord, columns
from edge.camera_recorder.index.reports import EXPORTS, Reports

_COLUMNS = columns(ExportRecord)


class Exports:
    """The `exports` table; every export is reported upstream once."""

    def __init__(self, database: IndexDatabase, reports: Reports) -> None:
        self._db = database
        self._reports = reports

    def add(self, record: ExportRecord) -> None:
        with self._db.transaction():
            self._db.run(
                f"INSERT INTO exports ({_COLUMNS}) VALUES ({', '.join('?' * 12)})",
                astuple(record),
            )
            self._reports.mark_due(EXPORTS, [record.id])

    def get(self, export_id: str) -> ExportRecord | None:
        row = self._db.one(f"SELECT {_COLUMNS} FROM exports WHERE id = ?", (export_id,))
        return ExportRecord(*row) if row else None
