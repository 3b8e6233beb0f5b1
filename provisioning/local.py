"""Applying a hall's registry on the machine where its broker runs, without going through MQTT.

Used by `hall provision gateway apply` on a gateway, by the demo (one
machine, one broker) and by the tests. The running gateway notices the
registry change by itself (SQLite `data_version`); the broker is reloaded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from contract.commands.registry import HallState
from gateway.registry import SCHEMA, apply_hall_state, missing_columns
from spine.broker.access import Account, hall_accounts
from spine.broker.security import write_access_files
from spine.sqlite import Transaction, open_database


def apply_to_gateway_store(state: HallState, store_path: Path) -> None:
    """Write the hall's registry into a gateway's SQLite file (running or not)."""
    db = open_database(store_path, page_size=None)
    try:
        db.executescript(SCHEMA)
        for statement in missing_columns(db.execute("PRAGMA table_info(registry)").fetchall()):
            db.execute(statement)
        with Transaction(db) as tx:
            apply_hall_state(tx, state, int(time.time() * 1000))
    finally:
        db.close()


@dataclass
class LocalHallSync:
    """A `HallSync` for a broker on this machine: access files, reload, and the gateway's registry."""

    broker_dir: Path
    reload: Callable[[], object]
    gateway_store: Path | None = None
    extra_accounts: Callable[[], list[Account]] = field(default=lambda: [])
    """Logins of other roles on the same broker (central's, when one broker serves both)."""

    def __call__(self, state: HallState) -> None:
        if self.gateway_store is not None:
            apply_to_gateway_store(state, self.gateway_store)
        write_access_files(self.broker_dir, hall_accounts(state) + self.extra_accounts())
        self.reload()
