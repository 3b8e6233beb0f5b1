"""Transactions: what is true once per transaction is written once, and only if it commits."""

from __future__ import annotations

from pathlib import Path

import pytest

from spine.sqlite import Transaction, before_commit, open_database


def test_an_action_before_commit_runs_once_with_the_transaction_and_not_after_a_rollback(
    tmp_path: Path,
) -> None:
    db = open_database(tmp_path / "node.sqlite")
    db.execute("CREATE TABLE cursor (last INTEGER)")
    db.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY)")
    runs: list[int] = []

    def move_cursor() -> None:
        runs.append(1)
        db.execute("INSERT INTO cursor SELECT max(id) FROM rows")

    with Transaction(db) as tx:
        for _ in range(3):
            tx.execute("INSERT INTO rows DEFAULT VALUES")
            before_commit(tx, "cursor", move_cursor)  # once per row, as a handler would
    with pytest.raises(RuntimeError), Transaction(db) as tx:
        tx.execute("INSERT INTO rows DEFAULT VALUES")
        before_commit(tx, "cursor", move_cursor)
        raise RuntimeError("a handler failed: nothing of this batch stays")

    assert runs == [1]
    assert db.execute("SELECT last FROM cursor").fetchall() == [(3,)]
    assert db.execute("SELECT count(*) FROM rows").fetchone() == (3,)


def test_before_commit_outside_a_transaction_is_refused(tmp_path: Path) -> None:
    db = open_database(tmp_path / "node.sqlite")
    with pytest.raises(RuntimeError, match="Transaction"):
        before_commit(db, "cursor", lambda: None)
