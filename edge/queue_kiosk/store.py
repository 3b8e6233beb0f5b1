"""The kiosk's own state: number counters, today's tickets, appointments.

A number is committed here before it is printed, so a kiosk killed at any
moment restarts past every number it ever handed out. To spend one fsync per
ticket rather than two (the outbox's commit of the ticket event is the
other), numbers are *reserved* durably in blocks of `RESERVE`
(synchronous=FULL) and handed out with cheap commits (synchronous=NORMAL:
safe against a crash of the process, not against a power cut). After a stop
that was not clean, numbering resumes above the reservation: a power cut
can leave a gap of at most `RESERVE` numbers, never a repeat.
The day only moves forward: a Pi whose clock falls back a day after a reboot
keeps numbering the later day rather than repeat the earlier one's numbers.

A ticket is `printed` once the printer confirmed it (a status reply after the
cut). A number committed but never confirmed -- the kiosk was killed, or lost
power, between the commit and the confirmation -- is found at the next start
(`unconfirmed`) and voided, so the hall never calls a number nobody holds. The
confirmation is a cheap commit: a power cut may lose it, and the number of a
ticket that did print is then voided too (the citizen is served at a window on
the paper ticket; nobody is called for nothing).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spine.sqlite import Transaction, open_database

SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    day TEXT NOT NULL,
    service TEXT NOT NULL,
    next_index INTEGER NOT NULL,
    reserved INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, service)
);
CREATE TABLE IF NOT EXISTS tickets (
    day TEXT NOT NULL,
    label TEXT NOT NULL,
    service TEXT NOT NULL,
    number INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    appointment TEXT,
    voided INTEGER NOT NULL DEFAULT 0,
    printed INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (day, label)
);
CREATE TABLE IF NOT EXISTS appointments (
    code TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    service TEXT NOT NULL,
    officer TEXT,
    window TEXT,
    not_before INTEGER,
    not_after INTEGER,
    redeemed_ticket TEXT
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Appointment:
    code: str
    day: str
    service: str
    officer: str | None
    window: str | None
    not_before: int | None
    not_after: int | None
    redeemed_ticket: str | None


RESERVE = 20
"""Numbers reserved per durable commit: the largest gap a power cut can leave."""


class KioskStore:
    def __init__(self, path: Path) -> None:
        self._db = open_database(path)  # synchronous=FULL until start-up is done
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(tickets)")}
        if "printed" not in columns:
            # A store from before confirmations: its tickets were taken as printed when written.
            self._db.execute("ALTER TABLE tickets ADD COLUMN printed INTEGER NOT NULL DEFAULT 1")
        self._lock = threading.Lock()
        with Transaction(self._db):
            if self._meta("clean") != "1":
                # The last run did not end cleanly: cheap commits may be lost, reservations are not.
                self._db.execute("UPDATE counters SET next_index = max(next_index, reserved)")
            self._set_meta("clean", "0")
        self._db.execute("PRAGMA synchronous=NORMAL")

    def close(self) -> None:
        with self._lock, self._durable(True):
            # A FULL commit also makes every earlier NORMAL one durable (one WAL, in order).
            with Transaction(self._db):
                self._set_meta("clean", "1")
            self._db.close()

    @contextmanager
    def _durable(self, full: bool) -> Iterator[sqlite3.Connection]:
        if not full:
            yield self._db
            return
        self._db.execute("PRAGMA synchronous=FULL")
        try:
            yield self._db
        finally:
            with suppress(sqlite3.ProgrammingError):  # close() closes the connection inside
                self._db.execute("PRAGMA synchronous=NORMAL")

    # --- the day -----------------------------------------------------------

    def current_day(self, clock_day: str) -> str:
        """The later of the clock's day and the last day this kiosk numbered."""
        with self._lock:
            last = self._meta("last_day")
            return clock_day if last is None or clock_day >= last else last

    def last_day(self) -> str | None:
        with self._lock:
            return self._meta("last_day")

    # --- numbers -----------------------------------------------------------

    def allocate(
        self, day: str, service: str, floor_index: int, make_label: Any, *,
        issued_at: int, priority: bool, appointment: str | None,
    ) -> tuple[str, int, int]:
        """Commit the next number of `service` on `day`: (label, number, index).

        `floor_index` is the lowest index allowed (learnt from the gateway, so a
        replaced kiosk in the same slot never repeats its predecessor's numbers).
        `make_label(index) -> (label, number)`.
        """
        with self._lock:
            row = self._db.execute(
                "SELECT next_index, reserved FROM counters WHERE day = ? AND service = ?", (day, service)
            ).fetchone()
            next_index, reserved = row if row else (0, 0)
            index = max(next_index, floor_index)
            # Durable when this index is past the reservation, and on the first ticket of a day.
            full = index >= reserved or self._meta("last_day") != day
            if index >= reserved:
                reserved = index + RESERVE
            with self._durable(full), Transaction(self._db):
                return self._issue(day, service, index, reserved, make_label, issued_at=issued_at,
                                   priority=priority, appointment=appointment)

    def _issue(
        self, day: str, service: str, index: int, reserved: int, make_label: Any, *,
        issued_at: int, priority: bool, appointment: str | None,
    ) -> tuple[str, int, int]:
        label, number = make_label(index)
        self._db.execute(
            "INSERT INTO counters (day, service, next_index, reserved) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (day, service) DO UPDATE SET next_index = excluded.next_index, "
            "reserved = excluded.reserved",
            (day, service, index + 1, reserved),
        )
        self._db.execute(
            "INSERT INTO tickets (day, label, service, number, issued_at, priority, appointment, printed) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
            (day, label, service, number, issued_at, int(priority), appointment),
        )
        if appointment is not None:
            self._db.execute(
                "UPDATE appointments SET redeemed_ticket = ? WHERE code = ?", (label, appointment)
            )
        self._set_meta("last_day", day)
        return label, number, index

    def void(self, day: str, label: str) -> None:
        with self._lock, Transaction(self._db):
            self._db.execute("UPDATE tickets SET voided = 1 WHERE day = ? AND label = ?", (day, label))
            self._db.execute(
                "UPDATE appointments SET redeemed_ticket = NULL WHERE redeemed_ticket = ? AND day = ?",
                (label, day),
            )

    def confirm(self, day: str, label: str) -> None:
        """The printer confirmed this ticket: it is the citizen's, never voided at a restart."""
        with self._lock, Transaction(self._db):
            self._db.execute("UPDATE tickets SET printed = 1 WHERE day = ? AND label = ?", (day, label))

    def unconfirmed(self) -> list[tuple[str, str]]:
        """(day, label) of numbers committed but neither confirmed printed nor voided."""
        with self._lock:
            return [(day, label) for day, label in self._db.execute(
                "SELECT day, label FROM tickets WHERE printed = 0 AND voided = 0 ORDER BY day, issued_at")]

    def issued_numbers(self, day: str, service: str) -> list[tuple[int, bool]]:
        """(number, voided) of this kiosk's tickets of `service` on `day`."""
        with self._lock:
            return [(n, bool(v)) for n, v in self._db.execute(
                "SELECT number, voided FROM tickets WHERE day = ? AND service = ? ORDER BY number",
                (day, service),
            )]

    def tickets(self, day: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT label, service, number, issued_at, priority, appointment, voided FROM tickets "
                "WHERE day = ? ORDER BY issued_at", (day,),
            ).fetchall()
        keys = ("label", "service", "number", "issued_at", "priority", "appointment", "voided")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def prune(self, before_day: str) -> None:
        """Old days are history upstream; the kiosk keeps only recent ones."""
        with self._lock, Transaction(self._db):
            self._db.execute("DELETE FROM tickets WHERE day < ?", (before_day,))
            self._db.execute("DELETE FROM counters WHERE day < ?", (before_day,))
            self._db.execute("DELETE FROM appointments WHERE day < ?", (before_day,))

    # --- appointments --------------------------------------------------------

    def replace_appointments(self, day: str, items: list[Appointment]) -> None:
        """Today's list from central; codes already redeemed here stay redeemed."""
        with self._lock, Transaction(self._db):
            keep = {code: ticket for code, ticket in self._db.execute(
                "SELECT code, redeemed_ticket FROM appointments WHERE day = ?", (day,)
            )}
            self._db.execute("DELETE FROM appointments WHERE day = ?", (day,))
            for item in items:
                self._db.execute(
                    "INSERT OR REPLACE INTO appointments (code, day, service, officer, window, not_before, "
                    "not_after, redeemed_ticket) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (item.code, item.day, item.service, item.officer, item.window, item.not_before,
                     item.not_after, keep.get(item.code) or item.redeemed_ticket),
                )

    def appointment(self, code: str) -> Appointment | None:
        with self._lock:
            row = self._db.execute(
                "SELECT code, day, service, officer, window, not_before, not_after, redeemed_ticket "
                "FROM appointments WHERE code = ?", (code,),
            ).fetchone()
        return Appointment(*row) if row else None

    def appointment_count(self, day: str) -> int:
        with self._lock:
            return int(self._db.execute(
                "SELECT count(*) FROM appointments WHERE day = ?", (day,)).fetchone()[0])

    # --- helpers -------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
