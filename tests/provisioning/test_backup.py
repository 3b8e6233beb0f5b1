"""Backups of live SQLite files: consistent while a writer keeps committing, and pruned."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from click.testing import CliRunner

from hallwatch.cli import main
from provisioning.backup import backup_database
from spine.sqlite import open_database


def test_a_backup_taken_during_writes_is_a_consistent_snapshot_and_old_ones_are_pruned(
    tmp_path: Path,
) -> None:
    live = tmp_path / "gateway.sqlite"
    db = open_database(live)
    db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, pair INTEGER NOT NULL)")
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            # Two rows per transaction: a torn copy would hold an odd count.
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO events (pair) VALUES (?)", [(n,), (n,)])
            db.execute("COMMIT")
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        copies = [backup_database(live, tmp_path / "backups", keep=2, stamp=f"{i:02d}") for i in range(3)]
    finally:
        stop.set()
        thread.join()
    kept = sorted((tmp_path / "backups").glob("*.sqlite"))
    assert kept == copies[1:]
    for copy in kept:
        with sqlite3.connect(copy) as snapshot:
            (count,) = snapshot.execute("SELECT count(*) FROM events").fetchone()
            assert count % 2 == 0
            assert snapshot.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


def test_a_backup_that_would_keep_no_copy_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    live = tmp_path / "live.sqlite"
    open_database(live).close()
    for keep in ("0", "-1"):
        result = CliRunner().invoke(main, ["provision", "backup", str(live), "--to", str(tmp_path / "b"),
                                           "--keep", keep])
        assert result.exit_code == 2 and "--keep" in result.output, result.output
    assert not (tmp_path / "b").exists()
