"""The footage index: one SQLite file (WAL) that the recorder consults instead of the disk.

One part per table, all on one connection and one lock (`database.py`):

| part | table | what it answers |
| --- | --- | --- |
| `index.segments` | segments | what is recorded, by camera and time; pruning |
| `index.gaps` | gaps | what is missing, and why |
| `index.holds` | holds (and `segments.held`) | what must be kept past retention |
| `index.exports` | exports | which clips were cut, with their hashes |
| `index.cameras` | cameras | runs, restarts, state, running totals |
| `index.alarms` | alarms | what is raised and not yet cleared |
| `index.unlinks` | pending_unlink | files a prune still has to delete |
| `index.reports` | unreported | what central has not heard yet |
| `index.meta` | meta | small values kept across restarts |

Callers talk to the part they need: `index.holds.place(hold)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge.camera_recorder.index.alarms import Alarms
from edge.camera_recorder.index.cameras import Cameras
from edge.camera_recorder.index.database import IndexDatabase, Meta
from edge.camera_recorder.index.exports import Exports
from edge.camera_recorder.index.gaps import CONTIGUOUS_MS, Gaps
from edge.camera_recorder.index.holds import FootageHolds
from edge.camera_recorder.index.models import (
    CameraTotals,
    ExportRecord,
    Gap,
    GapCause,
    HoldRecord,
    NewSegment,
    Segment,
)
from edge.camera_recorder.index.reports import EXPORTS, GAPS, HOLDS, Due, Reportable, Reports
from edge.camera_recorder.index.segments import Segments
from edge.camera_recorder.index.unlinks import PendingUnlinks

__all__ = [
    "CONTIGUOUS_MS",
    "EXPORTS",
    "GAPS",
    "HOLDS",
    "CameraTotals",
    "Due",
    "ExportRecord",
    "HoldRecord",
    "FootageIndex",
    "Gap",
    "GapCause",
    "NewSegment",
    "Reportable",
    "Segment",
]


class FootageIndex:
    """The parts of one open index file; every write is one durable transaction."""

    def __init__(self, path: str | Path) -> None:
        self.database = IndexDatabase(path)
        self.path = self.database.path
        self.meta = Meta(self.database)
        self.reports = Reports(self.database)
        self.cameras = Cameras(self.database)
        self.alarms = Alarms(self.database)
        self.unlinks = PendingUnlinks(self.database)
        self.gaps = Gaps(self.database, self.reports)
        self.holds = FootageHolds(self.database, self.reports)
        self.exports = Exports(self.database, self.reports)
        self.segments = Segments(self.database, self.gaps, self.holds, self.unlinks)

    def close(self) -> None:
        self.database.close()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read-only queries for diagnostics, benchmarks and tests."""
        return self.database.all(sql, params)
