"""Backups of the gateway's and central's SQLite files while they run: SQLite's online backup API.

Copying a WAL database with `cp` can catch it between a commit and its
checkpoint and yield a file that will not open. `Connection.backup` in one
step reads one consistent snapshot; in WAL mode (every hallwatch store) that
read does not block the service's writers, and stepping would only make the
copy restart each time they commit. The copy is checked (`PRAGMA
integrity_check`) before it is kept; only the newest `keep` copies of each
file stay.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from pathlib import Path

log = logging.getLogger(__name__)


class BackupFailed(Exception):
    pass


def backup_database(source: Path, directory: Path, *, keep: int = 14, stamp: str | None = None) -> Path:
    """Write a checked snapshot of `source` to `directory/<name>.<stamp>.sqlite`; prune old ones."""
    source, directory = Path(source), Path(directory)
    if not source.exists():
        raise BackupFailed(f"{source} does not exist")
    directory.mkdir(parents=True, exist_ok=True)
    stamp = stamp or time.strftime("%Y%m%dT%H%M%S")
    target = directory / f"{source.stem}.{stamp}.sqlite"
    partial = target.with_suffix(".partial")
    with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)) as src, \
            contextlib.closing(sqlite3.connect(partial)) as dst:
        src.backup(dst)
        verdict = dst.execute("PRAGMA integrity_check").fetchone()[0]
        dst.execute("PRAGMA journal_mode=DELETE")  # a backup is one self-contained file
    if verdict != "ok":
        partial.unlink(missing_ok=True)
        raise BackupFailed(f"the copy of {source} failed its integrity check: {verdict}")
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, target)
    os.chmod(target, 0o600)  # the gateway's store holds phone numbers given for SMS progress
    for old in sorted(directory.glob(f"{source.stem}.*.sqlite"))[:-keep]:
        old.unlink()
    log.info("backed up %s to %s", source, target)
    return target
