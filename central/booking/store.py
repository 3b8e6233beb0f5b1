"""Bookings at central: the `bookings` table (the current view) beside the booking log, in
central's event store, so a kiosk's check-in is applied in the transaction that stores it.

One query per question, in portable SQL (no SQLite-only functions): central
moves to PostgreSQL later. The phone is kept only sealed with the booking's key.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any

from central.booking import log as booking_log
from central.cases.timebase import day_of, midnight
from central.personal import Reader, vault
from central.personal.subjects import booking_subject
from central.projection import run_script
from central.store import CentralStore
from contract.privacy import ERASED, PersonalKind, normalize_phone

SCHEMA = booking_log.SCHEMA + """
CREATE TABLE IF NOT EXISTS bookings (
    code TEXT PRIMARY KEY,
    hall TEXT NOT NULL,
    day TEXT NOT NULL,
    slot TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    department TEXT NOT NULL,
    matter_id TEXT NOT NULL,
    matter TEXT NOT NULL,
    service TEXT NOT NULL,
    officer TEXT NOT NULL,
    officer_name TEXT NOT NULL,
    window_id TEXT NOT NULL,
    phone TEXT NOT NULL,
    state TEXT NOT NULL,
    booked_at INTEGER NOT NULL,
    closed_at INTEGER,
    ticket TEXT
);
CREATE INDEX IF NOT EXISTS bookings_by_officer ON bookings (hall, officer, day, slot);
CREATE INDEX IF NOT EXISTS bookings_by_state ON bookings (state, day);
""" + vault.SCHEMA

OPEN = ("confirmed", "checked_in")
"""States that hold a place in a slot and are on the hall's list."""


class BookingProblem(ValueError):
    """A booking step that cannot be taken; the message is what the citizen reads."""


@dataclass(frozen=True)
class NewBooking:
    hall: str
    day: str
    slot: str
    starts_at: int
    ends_at: int
    department: str
    matter_id: str
    matter: str
    service: str
    officer: str
    officer_name: str
    window: str
    phone: str


@dataclass(frozen=True)
class Limits:
    per_slot: int
    per_day: int
    per_phone_per_day: int


@dataclass(frozen=True)
class BookingRow:
    """A booking as anyone may read it: no phone."""

    code: str
    hall: str
    day: str
    slot: str
    starts_at: int
    ends_at: int
    department: str
    matter_id: str
    matter: str
    service: str
    officer: str
    officer_name: str
    window: str
    state: str
    booked_at: int
    closed_at: int | None
    ticket: str | None


_COLUMNS = ("code, hall, day, slot, starts_at, ends_at, department, matter_id, matter, service, officer, "
            "officer_name, window_id, state, booked_at, closed_at, ticket")
assert len(_COLUMNS.split(", ")) == len(fields(BookingRow))


class BookingStore:
    """The bookings and their log, in central's event store (`CentralStore`)."""

    def __init__(self, store: CentralStore, *, code_digits: int = 6) -> None:
        self.store = store
        self.code_digits = code_digits
        with store.transaction() as tx:
            run_script(tx, SCHEMA)

    # --- writing ----------------------------------------------------------------------

    def book(self, new: NewBooking, limits: Limits, now_ms: int, actor: str = "public") -> str:
        """Store a booking if its slot, its officer's day and its phone's day have room; its code."""
        with self.store.transaction() as tx:
            self._check_room(tx, new, limits)
            code = self._fresh_code(tx)
            phone = vault.seal(tx, booking_subject(code), PersonalKind.MOBILE, normalize_phone(new.phone))
            booking_log.append(tx, code, booking_log.CONFIRMED, now_ms, actor, {
                "hall": new.hall, "day": new.day, "slot": new.slot, "department": new.department,
                "matter_id": new.matter_id, "matter": new.matter, "service": new.service,
                "officer": new.officer, "window": new.window, "phone": phone,
            })
            tx.execute(
                f"INSERT INTO bookings ({_COLUMNS}, phone) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'confirmed', ?, NULL, NULL, ?)",
                (code, new.hall, new.day, new.slot, new.starts_at, new.ends_at, new.department,
                 new.matter_id, new.matter, new.service, new.officer, new.officer_name, new.window,
                 now_ms, phone))
        return code

    def _check_room(self, tx: sqlite3.Connection, new: NewBooking, limits: Limits) -> None:
        marks = ", ".join("?" * len(OPEN))
        in_slot, in_day = tx.execute(
            "SELECT sum(CASE WHEN slot = ? THEN 1 ELSE 0 END), count(*) FROM bookings "
            f"WHERE hall = ? AND officer = ? AND day = ? AND state IN ({marks})",
            (new.slot, new.hall, new.officer, new.day, *OPEN)).fetchone()
        if (in_slot or 0) >= limits.per_slot or in_day >= limits.per_day:
            raise BookingProblem("该时段已约满，请选择其他时段")
        held = [s.removeprefix("booking:") for s in
                vault.subjects_holding(vault.reads(tx), PersonalKind.MOBILE, new.phone)
                if s.startswith("booking:")]
        if held and self._open_on(tx, held, new.day) >= limits.per_phone_per_day:
            raise BookingProblem(f"同一手机号每天最多预约{limits.per_phone_per_day}次")

    @staticmethod
    def _open_on(tx: sqlite3.Connection, codes: list[str], day: str) -> int:
        count = 0
        for start in range(0, len(codes), 500):
            chunk = codes[start:start + 500]
            count += tx.execute(
                f"SELECT count(*) FROM bookings WHERE code IN ({', '.join('?' * len(chunk))}) "
                "AND day = ? AND state = 'confirmed'", (*chunk, day)).fetchone()[0]
        return int(count)

    def _fresh_code(self, tx: sqlite3.Connection) -> str:
        # Codes are random, so one cannot be guessed from another; never reused, so a kiosk
        # can never take an old code for a new booking.
        for _ in range(50):
            code = str(secrets.randbelow(10 ** self.code_digits)).zfill(self.code_digits)
            if tx.execute("SELECT 1 FROM bookings WHERE code = ?", (code,)).fetchone() is None:
                return code
        raise BookingProblem("系统繁忙，请稍后再试")

    def cancel(self, code: str, phone_tail: str, now_ms: int, *, reason: str = "本人取消",
               actor: str = "public") -> BookingRow:
        """Cancel a booking not yet begun, if the caller knows the last four digits of its phone."""
        with self.store.transaction() as tx:
            row = tx.execute("SELECT state, starts_at, phone FROM bookings WHERE code = ?",
                             (code,)).fetchone()
            if row is None or not _tail_matches(vault.reads(tx), code, row[2], phone_tail):
                raise BookingProblem("预约码或手机号后四位不正确")
            state, starts_at, _phone = row
            if state != "confirmed":
                raise BookingProblem({"cancelled": "该预约已取消", "checked_in": "该预约已取号，无法取消",
                                      "no_show": "该预约已过期"}.get(state, "该预约无法取消"))
            if starts_at <= now_ms:
                raise BookingProblem("预约时段已开始，无法取消")
            booking_log.append(tx, code, booking_log.CANCELLED, now_ms, actor, {"reason": reason})
            tx.execute("UPDATE bookings SET state = 'cancelled', closed_at = ? WHERE code = ?",
                       (now_ms, code))
        found = self.get(code)
        assert found is not None
        return found

    def check_in(self, tx: sqlite3.Connection, hall: str, code: str, ticket: str, day: str,
                 at_ms: int) -> bool:
        """A kiosk of the booking's hall took its code (inside the transaction storing that fact).

        A check-in reaching central after the booking was counted a no-show (a kiosk that was
        cut off from its gateway) still counts: the later fact stands, both stay in the log."""
        row = tx.execute("SELECT hall, state FROM bookings WHERE code = ?", (code,)).fetchone()
        if row is None or row[0] != hall or row[1] not in ("confirmed", "no_show"):
            return False
        booking_log.append(tx, code, booking_log.CHECKED_IN, at_ms, "kiosk", {"ticket": ticket, "day": day})
        tx.execute("UPDATE bookings SET state = 'checked_in', closed_at = ?, ticket = ? WHERE code = ?",
                   (at_ms, ticket, code))
        return True

    def count_no_shows(self, before_day: str, complete_until: Callable[[str], int | None],
                       now_ms: int) -> list[str]:
        """Bookings of days before `before_day` never checked in: no-shows, once the hall's facts
        are known complete past the end of the booked day (else a kiosk's late check-in could
        still be on its way)."""
        rows = self.store.query("SELECT code, hall, ends_at FROM bookings WHERE state = 'confirmed' "
                                "AND day < ? ORDER BY day, code", (before_day,))
        # How far each hall is known is read before the transaction: the store's lock is not
        # reentrant, and the hall's watermark lives in the same store.
        known = {hall: complete_until(hall) for hall in {row[1] for row in rows}}
        due = [code for code, hall, ends_at in rows
               if (k := known[hall]) is not None and k >= _end_of_day_ms(ends_at)]
        if not due:
            return []
        missed = []
        with self.store.transaction() as tx:
            for code in due:
                if tx.execute("UPDATE bookings SET state = 'no_show', closed_at = ? WHERE code = ? "
                              "AND state = 'confirmed'", (now_ms, code)).rowcount:
                    booking_log.append(tx, code, booking_log.NO_SHOW, now_ms, "central", {})
                    missed.append(code)
        return missed

    # --- reading ----------------------------------------------------------------------

    def get(self, code: str) -> BookingRow | None:
        rows = self.store.query(f"SELECT {_COLUMNS} FROM bookings WHERE code = ?", (code,))
        return BookingRow(*rows[0]) if rows else None

    def phone(self, code: str) -> str | None:
        """The booker's number in clear: for the SMS notice only; None once erased."""
        rows = self.store.query("SELECT phone FROM bookings WHERE code = ?", (code,))
        if not rows:
            return None
        clear = Reader(self.store.query).clear(booking_subject(code), rows[0][0])
        return None if clear is None or clear == ERASED else clear

    def taken(self, hall: str, officer: str, day: str) -> dict[str, int]:
        """Bookings holding each slot of an officer's day."""
        marks = ", ".join("?" * len(OPEN))
        return {slot: int(n) for slot, n in self.store.query(
            f"SELECT slot, count(*) FROM bookings WHERE hall = ? AND officer = ? AND day = ? "
            f"AND state IN ({marks}) GROUP BY slot", (hall, officer, day, *OPEN))}

    def on_list(self, hall: str, day: str) -> list[BookingRow]:
        """The bookings of a hall's day that its kiosks must know (checked-in ones included: the
        hall keeps which ticket each became)."""
        marks = ", ".join("?" * len(OPEN))
        rows = self.store.query(f"SELECT {_COLUMNS} FROM bookings WHERE hall = ? AND day = ? "
                                f"AND state IN ({marks}) ORDER BY code", (hall, day, *OPEN))
        return [BookingRow(*row) for row in rows]

    def days_from(self, hall: str, day: str) -> list[str]:
        """Days from `day` on with any booking at the hall (a day whose bookings were all
        cancelled still needs its now empty list)."""
        return [row[0] for row in self.store.query(
            "SELECT DISTINCT day FROM bookings WHERE hall = ? AND day >= ? ORDER BY day", (hall, day))]

    def figures(self, since_day: str, until_day: str) -> dict[str, dict[str, int]]:
        """Per department, bookings of days in [since, until) by state."""
        found: dict[str, dict[str, int]] = {}
        for department, state, n in self.store.query(
                "SELECT department, state, count(*) FROM bookings WHERE day >= ? AND day < ? "
                "GROUP BY department, state ORDER BY department", (since_day, until_day)):
            found.setdefault(department, {})[state] = int(n)
        return found

    def closed_before(self, cutoff_ms: int) -> list[str]:
        """Bookings settled (cancelled, checked in, no-show) before the cut-off: retention."""
        return [row[0] for row in self.store.query(
            "SELECT code FROM bookings WHERE state <> 'confirmed' AND closed_at < ?", (cutoff_ms,))]

    def steps_after(self, seq: int, types: Iterable[str], limit: int) -> list[booking_log.Step]:
        return booking_log.after(self.store.query, seq, tuple(types), limit)

    def log_head(self) -> int:
        return booking_log.head(self.store.query)

    def verify(self) -> dict[str, Any]:
        return booking_log.verify(self.store.query)


def _tail_matches(read: vault.Read, code: str, sealed: str, tail: str) -> bool:
    clear = Reader(read).clear(booking_subject(code), sealed)
    digits = normalize_phone(clear or "")
    return len(tail) == 4 and tail.isdigit() and digits.endswith(tail) and clear != ERASED


def _end_of_day_ms(ms: int) -> int:
    """00:00 after the (hall) day of `ms`."""
    return midnight(day_of(ms // 1000) + 1) * 1000
