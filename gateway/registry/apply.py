"""Writing a hall registry into a gateway's SQLite file from outside the gateway process.

What `hall gateway apply-registry STATE_FILE` does on the gateway: a
technician carrying `hall provision hall state` there, the first boot of a
gateway Pi, or a single-box hall's provisioning tool. The gateway may be
running or not: a running one notices the change by itself (SQLite's
`data_version`). The broker's files are rewritten and the broker reloaded, as
a sync from central would.
"""

from __future__ import annotations

import time
from pathlib import Path

from contract.commands.registry import HallState
from gateway.registry.store import apply_hall_state, ensure_tables
from spine.broker.access import hall_accounts
from spine.broker.security import BrokerReload, write_access_files
from spine.database import Database


def apply_registry(state: HallState, store_path: Path, broker_dir: Path, reload: BrokerReload) -> None:
    """The hall's registry into the gateway's store, then its broker's password file and ACL."""
    apply_to_store(state, store_path)
    write_access_files(broker_dir, hall_accounts(state))
    reload()


def apply_to_store(state: HallState, store_path: Path) -> None:
    """Only the registry's tables (where another part writes the broker's files: the demo)."""
    db = Database(store_path)
    try:
        ensure_tables(db)
        with db.transaction() as tx:
            apply_hall_state(tx, state, int(time.time() * 1000))
    finally:
        db.close()
