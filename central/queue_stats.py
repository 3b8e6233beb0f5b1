"""Queue statistics at central: a projection of the visit events, and the query the reports use.

A visit is split into segments, one per service it waited for: a transfer
ends one segment and opens the next. Each segment has when it began waiting,
when it was first called, where and by whom, how it ended and how long the
citizen spent at windows (parked spells excluded). From these:
waiting time, service time, the share of waits above a target, and the
no-show share, per service, window or officer.

A `Projection`: deployed late, it catches up from the event log.
Phone numbers given at windows (`queue.contact_given`) are kept for SMS
progress notices in `queue_contacts`, sealed with the visit's key
(`central.personal`): only `contact_for` opens them, and erasing the visit's key
(retention, or the citizen's request) erases them here and in the event log.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from central.personal import Reader, is_sealed, vault, visit_subject
from central.projection import Projection, event_time
from central.where import Where
from contract.envelope import Envelope
from contract.privacy import ERASED, PersonalKind

SCHEMA = """
CREATE TABLE IF NOT EXISTS queue_segments (
        hall TEXT NOT NULL,
        day TEXT NOT NULL,
        ticket TEXT NOT NULL,
        seq INTEGER NOT NULL,
        service TEXT NOT NULL,
        issued_at INTEGER NOT NULL,
        waiting_since INTEGER NOT NULL,
        called_at INTEGER,
        window TEXT,
        officer TEXT,
        recalls INTEGER NOT NULL DEFAULT 0,
        ended_at INTEGER,
        outcome TEXT,
        service_ms INTEGER,
        PRIMARY KEY (hall, day, ticket, seq)
);
CREATE INDEX IF NOT EXISTS queue_segments_day ON queue_segments (day, hall);
CREATE TABLE IF NOT EXISTS queue_contacts (
        hall TEXT NOT NULL,
        day TEXT NOT NULL,
        ticket TEXT NOT NULL,
        window TEXT NOT NULL,
        phone TEXT NOT NULL,
        given_at INTEGER NOT NULL,
        PRIMARY KEY (hall, day, ticket)
);
"""

SegmentOutcome = str  # served, no_show, transferred, voided


class QueueStatsProjection(Projection):
    """Keeps `queue_segments` and `queue_contacts` in step with the stored queue events."""

    name = "queue_stats"
    schema = SCHEMA + vault.SCHEMA
    # Before projections kept cursors this one was fed live only: its rows hold the log so far.
    kept_before_cursors = "queue_segments"

    def apply(self, tx: sqlite3.Connection, hall: str, envelope: Envelope) -> None:
        apply = _APPLY.get(envelope.type)
        if apply is not None:
            apply(tx, hall, envelope.body, event_time(envelope))


# --- applying events ---------------------------------------------------------------------


def _open_segment(tx: sqlite3.Connection, hall: str, day: str, ticket: str) -> int | None:
    row = tx.execute(
        "SELECT max(seq) FROM queue_segments WHERE hall = ? AND day = ? AND ticket = ?", (hall, day, ticket)
    ).fetchone()
    return row[0] if row else None


def _issued(tx: sqlite3.Connection, hall: str, body: Mapping[str, Any], at: int) -> None:
    tx.execute(
        "INSERT OR IGNORE INTO queue_segments (hall, day, ticket, seq, service, issued_at, waiting_since) "
        "VALUES (?, ?, ?, 1, ?, ?, ?)",
        (hall, body["day"], body["ticket"], body["service"], at, at),
    )


def _voided(tx: sqlite3.Connection, hall: str, body: Mapping[str, Any], at: int) -> None:
    _end(tx, hall, body, at, "voided", None)


def _called(tx: sqlite3.Connection, hall: str, body: Mapping[str, Any], _at: int) -> None:
    seq = _open_segment(tx, hall, body["day"], body["ticket"])
    if seq is None:  # the ticket's own event was lost to us: rebuild the segment from the call
        tx.execute(
            "INSERT INTO queue_segments (hall, day, ticket, seq, service, issued_at, waiting_since) "
            "VALUES (?, ?, ?, 1, ?, ?, ?)",
            (hall, body["day"], body["ticket"], body["service"], body["issued_at"], body["waiting_since"]),
        )
        seq = 1
    # A call-back after parking keeps the first call time: waiting ended at the first call.
    # The gateway's own dates of the wait are authoritative (it corrected the kiosk's clock).
    tx.execute(
        "UPDATE queue_segments SET called_at = coalesce(called_at, ?), window = ?, officer = ?, "
        "waiting_since = CASE WHEN called_at IS NULL THEN ? ELSE waiting_since END, "
        "issued_at = CASE WHEN called_at IS NULL AND seq = 1 THEN ? ELSE issued_at END "
        "WHERE hall = ? AND day = ? AND ticket = ? AND seq = ?",
        (body["at"], body["window"], body.get("officer"), body["waiting_since"], body["issued_at"],
         hall, body["day"], body["ticket"], seq),
    )


def _recalled(tx: sqlite3.Connection, hall: str, body: Mapping[str, Any], _at: int) -> None:
    seq = _open_segment(tx, hall, body["day"], body["ticket"])
    tx.execute(
        "UPDATE queue_segments SET recalls = recalls + 1 "
        "WHERE hall = ? AND day = ? AND ticket = ? AND seq = ?",
        (hall, body["day"], body["ticket"], seq),
    )


def _no_show(tx: sqlite3.Connection, hall: str, body: Mapping[str, Any], _at: int) -> None:
    _end(tx, hall, body, body["at"], "no_show", None)


def _served(tx: sqlite3.Connection, hall: str, body: Mapping[str, Any], _at: int) -> None:
    _end(tx, hall, body, body["at"], "served", body["service_ms"])


def _transferred(tx: sqlite3.Connection, hall: str, body: Mapping[str, Any], _at: int) -> None:
    seq = _end(tx, hall, body, body["at"], "transferred", body["active_ms"])
    if seq is None:
        return
    row = tx.execute(
        "SELECT issued_at FROM queue_segments WHERE hall = ? AND day = ? AND ticket = ? AND seq = ?",
        (hall, body["day"], body["ticket"], seq),
    ).fetchone()
    tx.execute(
        "INSERT OR IGNORE INTO queue_segments (hall, day, ticket, seq, service, issued_at, waiting_since) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (hall, body["day"], body["ticket"], seq + 1, body["to_service"], row[0], body["at"]),
    )


def _end(tx: sqlite3.Connection, hall: str, body: Mapping[str, Any], at: int, outcome: SegmentOutcome,
         service_ms: int | None) -> int | None:
    seq = _open_segment(tx, hall, body["day"], body["ticket"])
    if seq is None:
        return None
    tx.execute(
        "UPDATE queue_segments SET ended_at = ?, outcome = ?, service_ms = ? "
        "WHERE hall = ? AND day = ? AND ticket = ? AND seq = ?",
        (at, outcome, service_ms, hall, body["day"], body["ticket"], seq),
    )
    return int(seq)


def _contact(tx: sqlite3.Connection, hall: str, body: Mapping[str, Any], at: int) -> None:
    phone = body["phone"]
    if not is_sealed(phone):  # as it arrived; replayed from the event log, it is sealed already
        phone = vault.seal(tx, visit_subject(hall, body["day"], body["ticket"]), PersonalKind.MOBILE, phone)
    tx.execute(
        "INSERT INTO queue_contacts (hall, day, ticket, window, phone, given_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (hall, day, ticket) DO UPDATE SET phone = excluded.phone, given_at = excluded.given_at",
        (hall, body["day"], body["ticket"], body["window"], phone, at),
    )


_APPLY: dict[str, Callable[[sqlite3.Connection, str, Mapping[str, Any], int], None]] = {
    "queue.ticket_issued": _issued,
    "queue.ticket_voided": _voided,
    "queue.called": _called,
    "queue.recalled": _recalled,
    "queue.no_show": _no_show,
    "queue.served": _served,
    "queue.transferred": _transferred,
    "queue.contact_given": _contact,
}


# --- the statistics ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFigures:
    """One line of a queue report."""

    key: str | None
    segments: int
    """Segments in the period (tickets, plus one per transfer)."""
    called: int
    served: int
    no_shows: int
    mean_wait_ms: float | None
    max_wait_ms: int | None
    above_target_share: float | None
    """Share of called segments that waited longer than the target."""
    mean_service_ms: float | None
    no_show_share: float | None
    """No-shows among segments that ended at a window (served, no-show, transferred)."""


GROUPS = {"service": "service", "window": "window", "officer": "officer", "hall": "hall"}
ReadQuery = Callable[[str, tuple[Any, ...]], list[Any]]


def queue_statistics(
    query: ReadQuery,
    *,
    by: str = "service",
    hall: str | None = None,
    day_from: str | None = None,
    day_to: str | None = None,
    wait_target_ms: int | Mapping[str, int] = 15 * 60_000,
) -> list[QueueFigures]:
    """Figures per service, window, officer or hall. `query` is e.g. `CentralStore.query`.

    `wait_target_ms` is one target, or a target per service prefix (others: 15 minutes).
    """
    column = GROUPS.get(by)
    if column is None:
        raise ValueError(f"group by one of {sorted(GROUPS)}, not {by!r}")
    targets = wait_target_ms if isinstance(wait_target_ms, Mapping) else {}
    default_target = wait_target_ms if isinstance(wait_target_ms, int) else 15 * 60_000
    target_sql = "CASE service " + " ".join("WHEN ? THEN ?" for _ in targets) + " ELSE ? END" \
        if targets else "?"
    target_params: list[Any] = [v for pair in targets.items() for v in pair] + [default_target]
    where = (Where().equals("hall", hall).at_least("day", day_from).at_most("day", day_to)
             .holds(f"{column} IS NOT NULL", when=column in ("window", "officer")))
    sql = f"""
        SELECT {column},
               count(*),
               count(called_at),
               sum(outcome = 'served'),
               sum(outcome = 'no_show'),
               avg(called_at - waiting_since),
               max(called_at - waiting_since),
               sum(CASE WHEN called_at IS NOT NULL AND called_at - waiting_since > {target_sql}
                        THEN 1 ELSE 0 END),
               avg(CASE WHEN outcome = 'served' THEN service_ms END),
               sum(outcome IN ('served', 'no_show', 'transferred'))
        FROM queue_segments{where.sql}
        GROUP BY {column} ORDER BY {column}
    """
    try:
        rows = query(sql, (*target_params, *where.params))
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []  # no queue event yet
        raise
    figures = []
    for key, segments, called, served, no_shows, mean_wait, max_wait, above, mean_service, ended in rows:
        figures.append(QueueFigures(
            key=key, segments=segments, called=called, served=served or 0, no_shows=no_shows or 0,
            mean_wait_ms=mean_wait, max_wait_ms=max_wait,
            above_target_share=(above / called) if called else None,
            mean_service_ms=mean_service,
            no_show_share=((no_shows or 0) / ended) if ended else None,
        ))
    return figures


def contact_for(query: ReadQuery, hall: str, day: str, ticket: str) -> str | None:
    """The phone number for SMS progress notices of a visit (the only unmasked read); None when
    none was given or it was erased."""
    try:
        rows = query("SELECT phone FROM queue_contacts WHERE hall = ? AND day = ? AND ticket = ?",
                     (hall, day, ticket))
    except sqlite3.OperationalError:
        return None
    if not rows:
        return None
    phone = Reader(query).clear(visit_subject(hall, day, ticket), str(rows[0][0]))
    return None if phone == ERASED else phone
