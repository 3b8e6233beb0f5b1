"""Checking central's event log: is it still as it was stored?

The log is append-only by a guard in the database itself (SQLite triggers, or a
PostgreSQL trigger; docs/operations.md). Someone able to drop that guard could edit
a row; each row keeps the envelope it came in (`payload`) beside the columns that
index it, so an edit that does not rewrite both consistently shows. This check
reads the whole log in pages of `page` rows, the same queries on both databases;
only where a database lists its triggers differs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import bindparam, select, text

from spine.statement import Statement, Tx

GUARDS = {
    "sqlite": ({"events_no_update", "events_no_delete"}, Statement(lambda _d: text(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'"))),
    "postgresql": ({"events_append_only", "events_no_truncate"}, Statement(lambda _d: text(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal "
        "AND tgenabled <> 'D'"))),
}
"""The triggers that keep the log append-only on each database, and how to list them."""

_PAGE = Statement(lambda _dialect: select(
    *(text(name) for name in ("id", "event_id", "device", "seq", "type", "payload"))
).select_from(text("events")).where(text("id > :after")).order_by(text("id")).limit(bindparam("page")))


@dataclass(frozen=True)
class StoreReport:
    checked: int
    problem: str | None = None
    first_bad: str | None = None
    """The event id of the first row that does not match what it keeps."""

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_events(tx: Tx, dialect: str, *, page: int = 1000, guards: bool = True) -> StoreReport:
    """The guard first (without it nothing else is proof), then every row (`guards=False`: the rows only)."""
    expected, listing = GUARDS[dialect]
    present = {name for (name,) in listing.run(tx).fetchall()}
    if guards and not expected <= present:
        missing = ", ".join(sorted(expected - present))
        return StoreReport(0, f"the append-only guard is gone (missing or disabled trigger: {missing})")
    checked, after = 0, 0
    while rows := _PAGE.run(tx, {"after": after, "page": page}).fetchall():
        for row_id, event_id, device, seq, type, payload in rows:
            problem = _mismatch(event_id, device, seq, type, payload)
            if problem:
                return StoreReport(checked, f"row {row_id}: {problem}", first_bad=event_id)
            checked += 1
            after = row_id
    return StoreReport(checked)


def _mismatch(event_id: str, device: str, seq: int, type: str, payload: str) -> str | None:
    try:
        stored = json.loads(payload)
    except ValueError:
        return "its envelope is not JSON"
    kept = (stored.get("id"), stored.get("device"), stored.get("seq"), stored.get("type"))
    if kept != (event_id, device, seq, type):
        return f"its columns {(event_id, device, seq, type)} are not those of its envelope {kept}"
    return None
