"""How much room the disk under a store has left, and how a full one shows in SQLite's errors.

An outbox stops writing at a floor of free space (`min_free_disk_bytes`), whatever
its own cap says: on a card smaller than the cap, or when footage and logs share
the disk, the floor is what leaves room for SQLite's journal and for the drop
counts, so that routine events are dropped and counted rather than refused.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged writer may still use on the filesystem holding `path`."""
    stats = os.statvfs(path.parent)
    return stats.f_bavail * stats.f_frsize


def is_disk_full(error: sqlite3.Error) -> bool:
    """SQLite's "database or disk is full" (SQLITE_FULL), as opposed to any other failure."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return bool(code & 0xFF == sqlite3.SQLITE_FULL)
    return "full" in str(error).lower()


@dataclass(frozen=True)
class Storage:
    """What an agent says of its disk in its status, heartbeat and diagnostics."""

    full: bool
    """Below the floor (or SQLite said full): routine events are dropped, essential refused."""
    free_bytes: int
    floor_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return {"state": "full" if self.full else "ok", "free_bytes": self.free_bytes,
                "floor_bytes": self.floor_bytes}
