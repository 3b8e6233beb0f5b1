"""One append-only, hash-chained log table, on SQLite or PostgreSQL: records' steps, appended once.

Central keeps several such logs: the supervision office's anomaly and project logs
(`supervision.sqlite`), and in the event store the booking log, the complaint log
and the rating follow-up log. Each step of a record (a booking confirmed, a complaint
answered, a follow-up rectified) is one row, linked to the row before it in the whole
table (`central.chain`); triggers refuse UPDATE and DELETE (on SQLite `schema`, on
PostgreSQL the migrations), and `verify` names the first row that does not match.
The current state of a record is a view table its owner keeps beside the log. Bodies
hold no personal data in clear: the owner seals free text before it is appended.

The logs differ only in names, so one `Ledger` serves them all, its statements written
once for both databases (`spine.statement`): the table, the column(s) naming the
record (`subject`), the names of the position, type and body columns, and the order of
the columns in the table. The hash covers the position, then every column in table
order except the body, then the body's text; the column order is therefore part of
a log's identity and is never changed for a table that exists.

Appending reads the table's last row and inserts the next position. On SQLite the
caller's transaction already holds the file's one write lock (BEGIN IMMEDIATE). On
PostgreSQL two central processes could both read the same last row: the second insert
would then collide on the position. So each append first takes a transaction-scoped
advisory lock of its own table (`pg_advisory_xact_lock(ledger_lock_key(table))`),
held until the caller commits or rolls back. An advisory lock rather than `LOCK TABLE
... IN SHARE ROW EXCLUSIVE MODE`: PostgreSQL grants that mode only to a role with
UPDATE, DELETE or TRUNCATE on the table, and central's role has none of them on a log
(docs/operations.md, "Roles and grants"); the advisory lock needs no privilege, blocks
no reader, and is keyed like the per-hall lock of the ingest (`central.hall_lock`).

One transaction may append to several logs (an ingest batch: a booking checked in, then
a bad rating's follow-up; another hall's batch the other way round). Locks taken in the
order of the appends could then cross, and PostgreSQL would end one transaction as a
deadlock. So the locks are taken in one order, that of their keys: an append takes every
known ledger's lock whose key is not above its own, lowest first (those the transaction
holds already are taken again at no cost). A transaction then only ever waits for a key
above every key it holds, and no two can wait for each other.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Index,
    MetaData,
    Table,
    Text,
    and_,
    bindparam,
    desc,
    func,
    literal,
    select,
)

from central.chain import EMPTY, Head, Link, VerifyReport, canonical_body, verify_chain
from central.reads import Source, rows
from spine.sqlite import append_only
from spine.statement import Statement, Tx

_NAME = re.compile(r"^[a-z][a-z_]{1,40}$")
ROLES = ("subject", "type", "at", "actor", "body")
"""What every log holds besides its position and the two hashes ("subject" may be several columns)."""
LOCK_NAMESPACE = "hallwatch central ledger:"
"""Hashed before the table's name, so a ledger's key never meets a hall's (`central.hall_lock`)."""


_KEYS: list[int] = []
"""Every ledger's lock key in this process, in the one order they are taken in."""
_HOLD = Statement(lambda _dialect: select(func.pg_advisory_xact_lock(bindparam("key"))))


def ledger_lock_key(table: str) -> int:
    """The advisory-lock key of a ledger's appends: the first 8 bytes of SHA-256 of
    `LOCK_NAMESPACE + table` (UTF-8), big-endian, signed 64-bit; the same in every process and
    release (complaint_log's is in docs/operations.md, "Several central processes")."""
    digest = hashlib.sha256((LOCK_NAMESPACE + table).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class Step:
    """One row of a ledger: its position, the record it belongs to, and its body as stored."""

    seq: int
    subject: tuple[str, ...]
    type: str
    at: int
    actor: str
    text: str
    """The body as chained: canonical JSON for most logs, a sealed note for the follow-up log."""

    @cached_property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.text)
        return parsed


@dataclass(frozen=True)
class Layout:
    """The names of a ledger's columns, and their order in its table (which the hash follows)."""

    subject: tuple[str, ...] = ("subject",)
    position: str = "seq"
    type: str = "type"
    body: str = "body"
    order: tuple[str, ...] = ROLES
    """The roles in table order after the position (then `prev_hash`, `hash`)."""
    by_subject: bool = True
    """An index on (subject, position) for a record's history."""

    columns: tuple[str, ...] = field(init=False)
    """Every column in table order: position, the roles, prev_hash, hash."""

    def __post_init__(self) -> None:
        if sorted(self.order) != sorted(ROLES):
            raise ValueError(f"a ledger's order names each of {ROLES} once, not {self.order}")
        names = {"subject": self.subject, "type": (self.type,), "at": ("at",), "actor": ("actor",),
                 "body": (self.body,)}
        columns = (self.position, *(name for role in self.order for name in names[role]), "prev_hash", "hash")
        for name in columns:
            if not _NAME.match(name):
                raise ValueError(f"not a column name: {name!r}")
        if len(set(columns)) != len(columns):
            raise ValueError(f"a column named twice: {columns}")
        object.__setattr__(self, "columns", columns)

    @property
    def header(self) -> tuple[str, ...]:
        """The columns the hash covers before the body: every one between position and body's text."""
        return tuple(name for name in self.columns[1:-2] if name != self.body)


class Ledger:
    """One hash-chained table: `append` a step, read a record's `steps`, the steps `after` a
    position, the `head`, and `verify` the whole chain."""

    def __init__(self, table: str, what: str, layout: Layout | None = None) -> None:
        if not _NAME.match(table):
            raise ValueError(f"not a table name: {table!r}")
        self.layout = layout = layout or Layout()
        self.what = what
        """What the log is called in refusals ("the complaint log is append-only")."""
        self.lock_key = ledger_lock_key(table)
        if self.lock_key not in _KEYS:
            bisect.insort(_KEYS, self.lock_key)
        columns = [Column(name, BigInteger, primary_key=True, autoincrement=False) if name == layout.position
                   else Column(name, BigInteger, nullable=False) if name == "at"
                   else Column(name, Text, nullable=False) for name in layout.columns]
        by_subject = [Index(_index_name(table, layout), *layout.subject, layout.position)
                      ] if layout.by_subject else []
        self.table = Table(table, MetaData(), *columns, *by_subject)
        c = self.table.c
        self._position = c[layout.position]
        self._read_columns = (self._position, *(c[s] for s in layout.subject), c[layout.type], c.at, c.actor,
                              c[layout.body])
        """What a `Step` is made of, in its fields' order."""
        self._last = Statement(lambda _dialect: select(self._position, c.hash).order_by(
            desc(self._position)).limit(1))
        self._insert = Statement(lambda _dialect: self.table.insert().values(
            {name: bindparam(name) for name in layout.columns}))
        self.newest = Statement(lambda _dialect: select(func.max(self._position)))
        """The newest position (NULL when empty): what a reader following the log reads up to."""
        self._steps = Statement(lambda _dialect: select(*self._read_columns).where(
            *(c[s] == bindparam(s) for s in layout.subject)).order_by(self._position))
        every_column = [c[name] for name in layout.columns]
        self._first_page = Statement(lambda _dialect: select(*every_column).order_by(self._position).limit(
            bindparam("page")))
        self._next_page = Statement(lambda _dialect: select(*every_column).where(
            self._position > bindparam("after")).order_by(self._position).limit(bindparam("page")))
        self._after: dict[tuple[str, ...], Statement] = {}

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def schema(self) -> str:
        """The table, its index and its append-only triggers on a SQLite file (PostgreSQL's are
        the migrations'); the same text the logs were made with before they shared this class."""
        layout = self.layout
        columns = ",\n".join(
            f"    {name} INTEGER PRIMARY KEY" if name == layout.position
            else f"    {name} {'INTEGER' if name == 'at' else 'TEXT'} NOT NULL" for name in layout.columns)
        index = (f"CREATE INDEX IF NOT EXISTS {_index_name(self.name, layout)} ON {self.name} "
                 f"({', '.join((*layout.subject, layout.position))});\n") if layout.by_subject else ""
        return f"\nCREATE TABLE IF NOT EXISTS {self.name} (\n{columns}\n);\n{index}" + append_only(
            self.name, self.what)

    def append(self, tx: Tx, subject: str | Sequence[str], type: str, at: int, actor: str,
               body: Mapping[str, Any] | str) -> int:
        """Chain one step onto the last row of the table, inside the caller's transaction; returns
        its position. A mapping body is chained as canonical JSON, a text as it is."""
        return self.append_many(tx, [(subject, type, at, actor, body)])[0]

    def append_many(self, tx: Tx, steps: Sequence[tuple[str | Sequence[str], str, int, str,
                                                        Mapping[str, Any] | str]]) -> list[int]:
        """Chain several steps (each: subject, type, at, actor, body), in order, as `append` would
        one after the other, with the hashes it would make; the last row is read once and the
        rows are inserted in one driver call (a watch's batch raises hundreds). Their positions."""
        if not steps:
            return []
        self.serialise(tx)
        row = self._last.run(tx).fetchone()
        head = Head(int(row[0]), str(row[1])) if row else EMPTY
        rows: list[dict[str, Any]] = []
        for subject, type, at, actor, body in steps:
            key = _key(subject, self.layout)
            text = body if isinstance(body, str) else canonical_body(body)
            values = {**dict(zip(self.layout.subject, key, strict=True)),
                      self.layout.type: type, "at": at, "actor": actor}
            link = Link.after(head, tuple(values[name] for name in self.layout.header), text)
            rows.append({**values, self.layout.position: link.seq, self.layout.body: text,
                         "prev_hash": link.prev_hash, "hash": link.hash})
            head = Head(link.seq, link.hash)
        self._insert.run_many(tx, rows)
        return [row[self.layout.position] for row in rows]

    def steps(self, read: Source, subject: str | Sequence[str]) -> list[Step]:
        """Every step of one record, in order."""
        key = _key(subject, self.layout)
        return [self._step(row) for row in rows(read, self._steps, dict(zip(self.layout.subject, key,
                                                                             strict=True)))]

    def after(self, read: Source, seq: int, upto: int, types: Sequence[str], limit: int) -> list[Step]:
        """At most `limit` steps of the given types in (seq, upto], in order (a feed's read: it
        reads `head` first and then no further, so a step is never skipped as it commits)."""
        wanted = tuple(types)
        if wanted not in self._after:
            kind, position = self.table.c[self.layout.type], self._position
            chosen: ColumnElement[bool] = kind.in_([literal(t) for t in wanted])
            self._after[wanted] = Statement(lambda _dialect: select(*self._read_columns).where(and_(
                position > bindparam("after"), position <= bindparam("upto"), chosen)
            ).order_by(position).limit(bindparam("limit")))
        found = rows(read, self._after[wanted], {"after": seq, "upto": upto, "limit": limit})
        return [self._step(row) for row in found]

    def head(self, read: Source) -> int:
        """The newest position (0 for an empty log)."""
        return int(rows(read, self.newest)[0][0] or 0)

    def verify(self, read: Source, published: Head | None = None, *, page: int = 1000) -> VerifyReport:
        """Check every row from the first; name the first bad one. The rows are read `page` at a
        time, so a province's log is checked in the memory of one page."""
        return verify_chain(self._links(read, page), published)

    def _links(self, read: Source, page: int) -> Iterator[Link]:
        body = self.layout.columns.index(self.layout.body)
        # The first page has no lower bound: a row slipped in below position 1 must be seen.
        found = rows(read, self._first_page, {"page": page})
        while found:
            for row in found:
                yield Link(row[0], (*row[1:body], *row[body + 1:-2]), row[body], row[-2], row[-1])
            found = rows(read, self._next_page, {"after": found[-1][0], "page": page}) \
                if len(found) == page else []

    def serialise(self, tx: Tx) -> None:
        """Wait for, then hold until the caller's transaction ends, this log's appends, taking the
        locks of the ledgers ordered before it first (PostgreSQL only: a SQLite transaction that
        writes already holds the file's one write lock). `append` takes it; an owner takes it
        before reading what it is about to append on (the complaint desk's deadline pass), so a
        second process's read waits for the first one's commit."""
        if isinstance(tx, Connection) and tx.dialect.name == "postgresql":
            for key in _KEYS[:bisect.bisect_right(_KEYS, self.lock_key)]:
                _HOLD.run(tx, {"key": key})

    def _step(self, row: Sequence[Any]) -> Step:
        n = len(self.layout.subject)
        seq, subject, (type, at, actor, text) = row[0], row[1:1 + n], row[1 + n:]
        return Step(int(seq), tuple(subject), type, int(at), actor, text)


def _index_name(table: str, layout: Layout) -> str:
    return f"{table}_by_{'_'.join(layout.subject)}"


def _key(subject: str | Sequence[str], layout: Layout) -> tuple[str, ...]:
    key = (subject,) if isinstance(subject, str) else tuple(subject)
    if len(key) != len(layout.subject):
        raise ValueError(f"a record of this log is named by {layout.subject}, not {key!r}")
    return key
