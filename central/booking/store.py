"""Bookings at central: the `bookings` table (the current view) beside the booking log, in
central's event store, so a kiosk's check-in is applied in the transaction that stores it.

One query per question, written once for SQLite and PostgreSQL (`spine.statement`);
on PostgreSQL the tables are made by `central/migrations` (revision 0003). The phone
is kept only sealed with the booking's key.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Index,
    MetaData,
    Table,
    Text,
    bindparam,
    case,
    func,
    literal,
    select,
    update,
)

from central.booking import log as booking_log
from central.cases.timebase import day_of, midnight
from central.personal import Reader, vault
from central.personal.subjects import booking_subject
from central.projection import run_script
from central.reads import Source, built
from central.reads import rows as read_rows
from central.store import CentralStore
from contract.privacy import ERASED, PersonalKind, normalize_phone
from spine.statement import Statement, Tx

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


BOOKING_TABLES = MetaData()
BOOKINGS = Table(
    "bookings", BOOKING_TABLES,
    Column("code", Text, primary_key=True),
    *(Column(name, Text, nullable=False) for name in ("hall", "day", "slot")),
    Column("starts_at", BigInteger, nullable=False),
    Column("ends_at", BigInteger, nullable=False),
    *(Column(name, Text, nullable=False) for name in (
        "department", "matter_id", "matter", "service", "officer", "officer_name", "window_id", "phone",
        "state")),
    Column("booked_at", BigInteger, nullable=False),
    Column("closed_at", BigInteger),
    Column("ticket", Text),
    Index("bookings_by_officer", "hall", "officer", "day", "slot"),
    Index("bookings_by_state", "state", "day"),
)
"""`SCHEMA`'s bookings in SQLAlchemy Core (made on PostgreSQL by migration 0003)."""
_B = BOOKINGS.c
_ROW = tuple(_B[name] for name in (
    "code", "hall", "day", "slot", "starts_at", "ends_at", "department", "matter_id", "matter", "service",
    "officer", "officer_name", "window_id", "state", "booked_at", "closed_at", "ticket"))
"""A `BookingRow`'s columns, in its fields' order (never the phone)."""
assert len(_ROW) == len(fields(BookingRow))
_HOLDING_A_PLACE = _B.state.in_([literal(state) for state in OPEN])


def _by_code(*columns: ColumnElement[Any]) -> Statement:
    return Statement(lambda _dialect: select(*columns).where(_B.code == bindparam("code")))


_ROOM = Statement(lambda _dialect: select(
    func.sum(case((_B.slot == bindparam("slot"), 1), else_=0)), func.count()).where(
    _B.hall == bindparam("hall"), _B.officer == bindparam("officer"), _B.day == bindparam("day"),
    _HOLDING_A_PLACE))
_TAKEN_CODE = _by_code(_B.code)
_BOOKED = Statement(lambda _dialect: BOOKINGS.insert().values(
    {column.name: bindparam(column.name) for column in BOOKINGS.columns}))
_CANCELLABLE = _by_code(_B.state, _B.starts_at, _B.phone)
_CLOSED = Statement(lambda _dialect: update(BOOKINGS).where(_B.code == bindparam("w_code")).values(
    state=bindparam("v_state"), closed_at=bindparam("v_at")))
_HALL_AND_STATE = _by_code(_B.hall, _B.state)
_CHECKED_IN = Statement(lambda _dialect: update(BOOKINGS).where(_B.code == bindparam("w_code")).values(
    state="checked_in", closed_at=bindparam("v_at"), ticket=bindparam("v_ticket")))
_UNCHECKED = Statement(lambda _dialect: select(_B.code, _B.hall, _B.ends_at).where(
    _B.state == "confirmed", _B.day < bindparam("day")).order_by(_B.day, _B.code))
_MISSED = Statement(lambda _dialect: update(BOOKINGS).where(
    _B.code == bindparam("w_code"), _B.state == "confirmed").values(
    state="no_show", closed_at=bindparam("v_at")))
_GET = _by_code(*_ROW)
_PHONE = _by_code(_B.phone)
_SLOTS_TAKEN = Statement(lambda _dialect: select(_B.slot, func.count()).where(
    _B.hall == bindparam("hall"), _B.officer == bindparam("officer"), _B.day == bindparam("day"),
    _HOLDING_A_PLACE).group_by(_B.slot))
_ON_LIST = Statement(lambda _dialect: select(*_ROW).where(
    _B.hall == bindparam("hall"), _B.day == bindparam("day"), _HOLDING_A_PLACE).order_by(_B.code))
_DAYS_FROM = Statement(lambda _dialect: select(_B.day).distinct().where(
    _B.hall == bindparam("hall"), _B.day >= bindparam("day")).order_by(_B.day))
_FIGURES = Statement(lambda _dialect: select(_B.department, _B.state, func.count()).where(
    _B.day >= bindparam("since"), _B.day < bindparam("until")).group_by(_B.department, _B.state
                                                                       ).order_by(_B.department))
_CLOSED_BEFORE = Statement(lambda _dialect: select(_B.code).where(
    _B.state != "confirmed", _B.closed_at < bindparam("cutoff")))


class BookingStore:
    """The bookings and their log, in central's event store (`CentralStore`)."""

    def __init__(self, store: CentralStore, *, code_digits: int = 6) -> None:
        self.store = store
        self.code_digits = code_digits
        if store.url.is_sqlite:  # on PostgreSQL the tables are the migrations'
            with store.transaction() as tx:
                run_script(tx, SCHEMA)

    # --- writing ----------------------------------------------------------------------

    def book(self, new: NewBooking, limits: Limits, now_ms: int, actor: str = "public") -> str:
        """Store a booking if its slot, its officer's day and its phone's day have room; its code."""
        with self.store.statements() as tx:
            self._check_room(tx, new, limits)
            code = self._fresh_code(tx)
            phone = vault.seal(tx, booking_subject(code), PersonalKind.MOBILE, normalize_phone(new.phone))
            booking_log.LOG.append(tx, code, booking_log.CONFIRMED, now_ms, actor, {
                "hall": new.hall, "day": new.day, "slot": new.slot, "department": new.department,
                "matter_id": new.matter_id, "matter": new.matter, "service": new.service,
                "officer": new.officer, "window": new.window, "phone": phone,
            })
            _BOOKED.run(tx, {
                "code": code, "hall": new.hall, "day": new.day, "slot": new.slot, "starts_at": new.starts_at,
                "ends_at": new.ends_at, "department": new.department, "matter_id": new.matter_id,
                "matter": new.matter, "service": new.service, "officer": new.officer,
                "officer_name": new.officer_name, "window_id": new.window, "phone": phone,
                "state": "confirmed", "booked_at": now_ms, "closed_at": None, "ticket": None})
        return code

    def _check_room(self, tx: Tx, new: NewBooking, limits: Limits) -> None:
        in_slot, in_day = _ROOM.run(tx, {"slot": new.slot, "hall": new.hall, "officer": new.officer,
                                         "day": new.day}).fetchone()
        if (in_slot or 0) >= limits.per_slot or in_day >= limits.per_day:
            raise BookingProblem("该时段已约满，请选择其他时段")
        held = [s.removeprefix("booking:") for s in
                vault.subjects_holding(tx, PersonalKind.MOBILE, new.phone) if s.startswith("booking:")]
        if held and self._open_on(tx, held, new.day) >= limits.per_phone_per_day:
            raise BookingProblem(f"同一手机号每天最多预约{limits.per_phone_per_day}次")

    @staticmethod
    def _open_on(tx: Tx, codes: Sequence[str], day: str) -> int:
        count = 0
        for start in range(0, len(codes), 500):
            # A handful of codes (one phone's bookings): a statement for this list alone.
            query = select(func.count()).where(
                _B.code.in_([literal(code) for code in codes[start:start + 500]]), _B.day == literal(day),
                _B.state == "confirmed")
            count += built(query).run(tx).fetchone()[0]
        return int(count)

    def _fresh_code(self, tx: Tx) -> str:
        # Codes are random, so one cannot be guessed from another; never reused, so a kiosk
        # can never take an old code for a new booking.
        for _ in range(50):
            code = str(secrets.randbelow(10 ** self.code_digits)).zfill(self.code_digits)
            if _TAKEN_CODE.run(tx, {"code": code}).fetchone() is None:
                return code
        raise BookingProblem("系统繁忙，请稍后再试")

    def cancel(self, code: str, phone_tail: str, now_ms: int, *, reason: str = "本人取消",
               actor: str = "public") -> BookingRow:
        """Cancel a booking not yet begun, if the caller knows the last four digits of its phone."""
        with self.store.statements() as tx:
            row = _CANCELLABLE.run(tx, {"code": code}).fetchone()
            if row is None or not _tail_matches(tx, code, row[2], phone_tail):
                raise BookingProblem("预约码或手机号后四位不正确")
            state, starts_at, _phone = row
            if state != "confirmed":
                raise BookingProblem({"cancelled": "该预约已取消", "checked_in": "该预约已取号，无法取消",
                                      "no_show": "该预约已过期"}.get(state, "该预约无法取消"))
            if starts_at <= now_ms:
                raise BookingProblem("预约时段已开始，无法取消")
            booking_log.LOG.append(tx, code, booking_log.CANCELLED, now_ms, actor, {"reason": reason})
            _CLOSED.run(tx, {"w_code": code, "v_state": "cancelled", "v_at": now_ms})
        found = self.get(code)
        assert found is not None
        return found

    def check_in(self, tx: Tx, hall: str, code: str, ticket: str, day: str, at_ms: int) -> bool:
        """A kiosk of the booking's hall took its code (inside the transaction storing that fact).

        A check-in reaching central after the booking was counted a no-show (a kiosk that was
        cut off from its gateway) still counts: the later fact stands, both stay in the log."""
        row = _HALL_AND_STATE.run(tx, {"code": code}).fetchone()
        if row is None or row[0] != hall or row[1] not in ("confirmed", "no_show"):
            return False
        booking_log.LOG.append(tx, code, booking_log.CHECKED_IN, at_ms, "kiosk",
                               {"ticket": ticket, "day": day})
        _CHECKED_IN.run(tx, {"w_code": code, "v_at": at_ms, "v_ticket": ticket})
        return True

    def count_no_shows(self, before_day: str, complete_until: Callable[[str], int | None],
                       now_ms: int) -> list[str]:
        """Bookings of days before `before_day` never checked in: no-shows, once the hall's facts
        are known complete past the end of the booked day (else a kiosk's late check-in could
        still be on its way)."""
        rows = self._read(_UNCHECKED, {"day": before_day})
        # How far each hall is known is read before the transaction: the store's lock is not
        # reentrant, and the hall's watermark lives in the same store.
        known = {hall: complete_until(hall) for hall in {row[1] for row in rows}}
        due = [code for code, hall, ends_at in rows
               if (k := known[hall]) is not None and k >= _end_of_day_ms(ends_at)]
        if not due:
            return []
        missed = []
        with self.store.statements() as tx:
            for code in due:
                if _MISSED.run(tx, {"w_code": code, "v_at": now_ms}).rowcount:
                    booking_log.LOG.append(tx, code, booking_log.NO_SHOW, now_ms, "central", {})
                    missed.append(code)
        return missed

    # --- reading ----------------------------------------------------------------------

    def get(self, code: str) -> BookingRow | None:
        rows = self._read(_GET, {"code": code})
        return BookingRow(*rows[0]) if rows else None

    def phone(self, code: str) -> str | None:
        """The booker's number in clear: for the SMS notice only; None once erased."""

        def opened(tx: Tx) -> str | None:
            rows = read_rows(tx, _PHONE, {"code": code})
            return Reader(tx).clear(booking_subject(code), rows[0][0]) if rows else None

        clear = self.store.read(opened)
        return None if clear is None or clear == ERASED else clear

    def taken(self, hall: str, officer: str, day: str) -> dict[str, int]:
        """Bookings holding each slot of an officer's day."""
        return {slot: int(n) for slot, n in self._read(
            _SLOTS_TAKEN, {"hall": hall, "officer": officer, "day": day})}

    def on_list(self, hall: str, day: str) -> list[BookingRow]:
        """The bookings of a hall's day that its kiosks must know (checked-in ones included: the
        hall keeps which ticket each became)."""
        return [BookingRow(*row) for row in self._read(_ON_LIST, {"hall": hall, "day": day})]

    def days_from(self, hall: str, day: str) -> list[str]:
        """Days from `day` on with any booking at the hall (a day whose bookings were all
        cancelled still needs its now empty list)."""
        return [row[0] for row in self._read(_DAYS_FROM, {"hall": hall, "day": day})]

    def figures(self, since_day: str, until_day: str) -> dict[str, dict[str, int]]:
        """Per department, bookings of days in [since, until) by state."""
        found: dict[str, dict[str, int]] = {}
        for department, state, n in self._read(_FIGURES, {"since": since_day, "until": until_day}):
            found.setdefault(department, {})[state] = int(n)
        return found

    def closed_before(self, cutoff_ms: int) -> list[str]:
        """Bookings settled (cancelled, checked in, no-show) before the cut-off: retention."""
        return [row[0] for row in self._read(_CLOSED_BEFORE, {"cutoff": cutoff_ms})]

    def steps_after(self, seq: int, types: Iterable[str], limit: int,
                    upto: int | None = None) -> list[booking_log.Step]:
        """Steps of the given types after `seq`, up to `upto` (the head the reader read) or the newest."""
        log = booking_log.LOG
        return self.store.read(lambda tx: log.after(tx, seq, log.head(tx) if upto is None else upto,
                                                    tuple(types), limit))

    def log_head(self) -> int:
        return self.store.read(booking_log.LOG.head)

    def verify(self) -> dict[str, Any]:
        return self.store.read(booking_log.verify)

    def _read(self, statement: Statement, params: Mapping[str, Any] | None = None) -> list[Any]:
        return self.store.read(lambda tx: read_rows(tx, statement, params))


def _tail_matches(read: Source, code: str, sealed: str, tail: str) -> bool:
    clear = Reader(read).clear(booking_subject(code), sealed)
    digits = normalize_phone(clear or "")
    return len(tail) == 4 and tail.isdigit() and digits.endswith(tail) and clear != ERASED


def _end_of_day_ms(ms: int) -> int:
    """00:00 after the (hall) day of `ms`."""
    return midnight(day_of(ms // 1000) + 1) * 1000
