"""Moving a process's `sms.sqlite` into central's database (`hall central sms move-to-database`).

A SQLite central kept its SMS outbox in `<data_dir>/sms.sqlite`; on PostgreSQL the outbox is in
central's database (revision 0009). Switching must not lose what the file holds, least of all an
opt-out: a citizen who said 退订 must not be messaged again. Opt-outs are kept only as keyed
digests of the number (`sms_meta` phone_key), so they can be moved only under the same key:

- the database's outbox is empty (no message, opt-out or reply yet): it takes the file's key;
- it already uses the file's key: the rows are added beside its own;
- otherwise the move is refused: re-keying an opt-out needs the number, which is not kept.

Everything is copied in one transaction on the database (the file is only read): the key, the
opt-outs, the messages in every state with their parts (`sms_units`) and attempts, and the
replies (`sms_incoming`). A message is known by its (fact, recipient, template), an opt-out by
its digest, a reply by its time, digest, text and action: what the database already has is
left as it is, so a second run adds nothing. The counts are compared before the commit.

`refuse_sms_left_behind` is the start's guard: a central on PostgreSQL with `[sms]` does not
start while the file holds an opt-out or an unsent message the database lacks.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, select, update

from central.sms.tables import SMS_ATTEMPTS, SMS_INCOMING, SMS_MESSAGES, SMS_META, SMS_OPT_OUTS, SMS_UNITS
from spine.engines import open_engine
from spine.statement import Statement, insert_for
from spine.storeurl import StoreUrl

MOVE_COMMAND = "hall central sms move-to-database"
UNSENT_STATES = ("queued", "sending")
"""Messages the file's process would still have sent."""
MOVED_SUFFIX = ".moved"

M = SMS_META.c
S = SMS_MESSAGES.c
O = SMS_OPT_OUTS.c  # noqa: E741 - the opt-outs' columns
N = SMS_INCOMING.c

_MESSAGE_COLUMNS = tuple(c.name for c in SMS_MESSAGES.c if c.name != "id")
_UNIT_COLUMNS = ("unit", "reference", "sent_at", "report", "reported_at")
_ATTEMPT_COLUMNS = ("at", "outcome", "detail")
_INCOMING_COLUMNS = ("phone", "phone_key", "phone_masked", "text", "received_at", "action")


def _p(name: str) -> Any:
    return bindparam(name)


def _insert_message(dialect: str) -> Any:
    return insert_for(dialect, SMS_MESSAGES).values({name: _p(name) for name in _MESSAGE_COLUMNS}) \
        .on_conflict_do_nothing(index_elements=["fact_id", "recipient", "template"]).returning(S.id)


def _insert_opt_out(dialect: str) -> Any:
    return insert_for(dialect, SMS_OPT_OUTS).values(phone_key=_p("phone_key"), at=_p("at"), via=_p("via")) \
        .on_conflict_do_nothing(index_elements=["phone_key"])


def _key_put(dialect: str) -> Any:
    return insert_for(dialect, SMS_META).values(key="phone_key", value=_p("value")) \
        .on_conflict_do_nothing(index_elements=["key"])


_KEY = Statement(lambda _d: select(M.value).where(M.key == "phone_key"))
_KEY_PUT = Statement(_key_put)
_KEY_SET = Statement(lambda _d: update(SMS_META).where(M.key == "phone_key").values(value=_p("value")))


def _count_of(table: Table) -> Statement:
    return Statement(lambda _d: select(func.count()).select_from(table))


_COUNTS = {table.name: _count_of(table)
           for table in (SMS_MESSAGES, SMS_UNITS, SMS_ATTEMPTS, SMS_OPT_OUTS, SMS_INCOMING)}
_MESSAGE_FOUND = Statement(lambda _d: select(S.id).where(
    S.fact_id == _p("fact_id"), S.recipient == _p("recipient"), S.template == _p("template")))
_OPT_OUT_FOUND = Statement(lambda _d: select(O.phone_key).where(O.phone_key == _p("phone_key")))
_INSERT_MESSAGE = Statement(_insert_message)
_INSERT_UNIT = Statement(lambda _d: SMS_UNITS.insert().values(
    message_id=_p("message_id"), **{name: _p(name) for name in _UNIT_COLUMNS}))
_INSERT_ATTEMPT = Statement(lambda _d: SMS_ATTEMPTS.insert().values(
    message_id=_p("message_id"), **{name: _p(name) for name in _ATTEMPT_COLUMNS}))
_INSERT_OPT_OUT = Statement(_insert_opt_out)
_REPLY_FOUND = Statement(lambda _d: select(func.count()).select_from(SMS_INCOMING).where(
    N.received_at == _p("received_at"), N.phone_key.is_not_distinct_from(_p("phone_key")),
    N.text.is_not_distinct_from(_p("text")), N.action == _p("action")))
"""A reply has no key of its own: the same instant, number, text and action is the same reply."""
_INSERT_REPLY = Statement(lambda _d: SMS_INCOMING.insert().values(
    {name: _p(name) for name in _INCOMING_COLUMNS}))


class SmsMoveRefused(RuntimeError):
    """The file cannot be moved into this database without losing what it holds."""


class SmsLeftBehind(RuntimeError):
    """A central on PostgreSQL would start beside an `sms.sqlite` holding what the database lacks."""


@dataclass
class MoveReport:
    """What the file held, what the move added, and what the database already had."""

    source: Path
    key: str
    """"adopted" (the database took the file's key) or "same" (it had it already)."""
    in_file: dict[str, int] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)
    already: dict[str, int] = field(default_factory=dict)
    renamed_to: Path | None = None


@dataclass
class _FileContents:
    key: str | None
    messages: list[dict[str, Any]]
    units: dict[int, list[dict[str, Any]]]
    attempts: dict[int, list[dict[str, Any]]]
    opt_outs: list[dict[str, Any]]
    replies: list[dict[str, Any]]


@contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """The file opened read-only: the move and the start's guard never write to it."""
    if not path.exists():
        raise FileNotFoundError(path)
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        connection.row_factory = sqlite3.Row
        yield connection


def _columns(file: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in file.execute(f"PRAGMA table_info({table})")}


def _rows(file: sqlite3.Connection, table: str, wanted: tuple[str, ...], extra: tuple[str, ...] = (),
          where: str = "", order: str = "rowid") -> list[dict[str, Any]]:
    """`wanted` columns of a table (None for a column an older file lacks); none if no table."""
    present = _columns(file, table)
    if not present:
        return []
    chosen = [name if name in present else f"NULL AS {name}" for name in (*extra, *wanted)]
    rows = file.execute(f"SELECT {', '.join(chosen)} FROM {table} {where} ORDER BY {order}").fetchall()
    return [dict(row) for row in rows]


def _read(file: sqlite3.Connection, *, unsent_only: bool = False) -> _FileContents:
    meta = file.execute("SELECT value FROM sms_meta WHERE key = 'phone_key'").fetchall() \
        if _columns(file, "sms_meta") else []
    states = ", ".join(f"'{state}'" for state in UNSENT_STATES)
    messages = _rows(file, "sms_messages", _MESSAGE_COLUMNS, extra=("id",),
                     where=f"WHERE state IN ({states})" if unsent_only else "", order="id")
    units: dict[int, list[dict[str, Any]]] = {}
    attempts: dict[int, list[dict[str, Any]]] = {}
    if not unsent_only:
        for row in _rows(file, "sms_units", _UNIT_COLUMNS, extra=("message_id",), order="message_id, unit"):
            units.setdefault(row.pop("message_id"), []).append(row)
        # In the order they were made: a file's attempts keep it in their rowid.
        for row in _rows(file, "sms_attempts", _ATTEMPT_COLUMNS, extra=("message_id",)):
            attempts.setdefault(row.pop("message_id"), []).append(row)
    return _FileContents(
        key=meta[0][0] if meta else None, messages=messages, units=units, attempts=attempts,
        opt_outs=_rows(file, "sms_opt_outs", ("phone_key", "at", "via")),
        replies=[] if unsent_only else _rows(file, "sms_incoming", _INCOMING_COLUMNS, order="id"))


def _counts(sql: Connection) -> dict[str, int]:
    return {name: int(statement.run(sql).fetchall()[0][0]) for name, statement in _COUNTS.items()}


def _key_decision(sql: Connection, file_key: str | None, before: dict[str, int], source: Path) -> str:
    """Make the database's phone key the file's, or refuse (see the module's docstring)."""
    if file_key is None:  # a file whose outbox never opened: nothing keyed in it
        return "same"
    found = _KEY.run(sql).fetchall()
    if not found:
        _KEY_PUT.run(sql, {"value": file_key})
        return "adopted"
    if found[0][0] == file_key:
        return "same"
    holding = {name: n for name, n in before.items()
               if name in ("sms_messages", "sms_opt_outs", "sms_incoming") and n}
    if holding:
        raise SmsMoveRefused(
            f"{source} and the database's SMS outbox digest phone numbers with different keys, and "
            f"the database already holds {holding}: the file's opt-outs are kept only as digests of "
            "their numbers, so they cannot be re-keyed without the numbers. Nothing was moved. Move "
            "the file before any central process on this database sends SMS, or keep it where it is")
    _KEY_SET.run(sql, {"value": file_key})
    return "adopted"


def move_into(sql: Connection, source: Path) -> MoveReport:
    """Copy the file's outbox into the database on `sql`, inside the caller's transaction."""
    with _read_only(source) as file:
        contents = _read(file)
    before = _counts(sql)
    report = MoveReport(source=source, key=_key_decision(sql, contents.key, before, source))
    report.in_file = {
        "sms_messages": len(contents.messages),
        "sms_units": sum(map(len, contents.units.values())),
        "sms_attempts": sum(map(len, contents.attempts.values())),
        "sms_opt_outs": len(contents.opt_outs), "sms_incoming": len(contents.replies)}
    added = dict.fromkeys(report.in_file, 0)
    units: list[dict[str, Any]] = []
    attempts: list[dict[str, Any]] = []
    for message in contents.messages:
        old_id = message.pop("id")
        stored = _INSERT_MESSAGE.run(sql, message).fetchall()
        if not stored:  # the database has this (fact, recipient, template): its row stands, with its parts
            continue
        added["sms_messages"] += 1
        new_id = int(stored[0][0])
        units += [{**unit, "message_id": new_id} for unit in contents.units.get(old_id, [])]
        attempts += [{**attempt, "message_id": new_id} for attempt in contents.attempts.get(old_id, [])]
    if units:
        _INSERT_UNIT.run_many(sql, units)
    if attempts:
        _INSERT_ATTEMPT.run_many(sql, attempts)
    added["sms_units"], added["sms_attempts"] = len(units), len(attempts)
    for opt_out in contents.opt_outs:
        added["sms_opt_outs"] += _INSERT_OPT_OUT.run(sql, opt_out).rowcount
    for reply in contents.replies:
        if not _REPLY_FOUND.run(sql, reply).fetchall()[0][0]:
            _INSERT_REPLY.run(sql, reply)
            added["sms_incoming"] += 1
    after = _counts(sql)
    grew = {name: after[name] - before[name] for name in after}
    if grew != added:  # another writer in between, or a row lost: the caller's transaction rolls back
        raise RuntimeError(f"the SMS outbox grew by {grew} while the move added {added}: nothing was moved")
    report.added = added
    report.already = {name: report.in_file[name] - added[name] for name in added}
    return report


def move_to_database(source: Path, target: StoreUrl, *, rename: bool = False) -> MoveReport:
    """Move `source` (a process's sms.sqlite) into the outbox at `target`, in one transaction;
    with `rename`, the file (and its -wal, -shm) gets `.moved` appended after the commit."""
    engine = open_engine(target)
    try:
        with engine.begin() as sql:
            report = move_into(sql, source)
    finally:
        engine.dispose()
    if rename:
        report.renamed_to = _rename(source)
    return report


def _rename(source: Path) -> Path:
    moved = source.with_name(source.name + MOVED_SUFFIX)
    # The write-ahead log and its index are found by the file's name: they go with it, log first,
    # so no moment has the file without its log beside it.
    for suffix in ("-wal", "-shm"):
        companion = source.with_name(source.name + suffix)
        if companion.exists():
            companion.rename(moved.with_name(moved.name + suffix))
    source.rename(moved)
    return moved


def left_behind(sql: Connection, source: Path) -> dict[str, int]:
    """What the file holds that the database lacks and must not be lost: opt-outs, and messages
    still to be sent (by digest, and by (fact, recipient, template)); empty without a file."""
    if not source.exists():
        return {}
    with _read_only(source) as file:
        contents = _read(file, unsent_only=True)
    missing = {
        "opt-outs": sum(1 for o in contents.opt_outs
                        if not _OPT_OUT_FOUND.run(sql, {"phone_key": o["phone_key"]}).fetchall()),
        "unsent messages": sum(1 for m in contents.messages if not _MESSAGE_FOUND.run(sql, m).fetchall())}
    return {what: n for what, n in missing.items() if n}


def refuse_sms_left_behind(source: Path, database: StoreUrl) -> None:
    """Raise `SmsLeftBehind` when `source` holds opt-outs or unsent messages the database lacks."""
    if not source.exists():
        return
    engine = open_engine(database)
    try:
        with engine.connect() as sql:
            missing = left_behind(sql, source)
    finally:
        engine.dispose()
    if missing:
        held = ", ".join(f"{n} {what}" for what, n in missing.items())
        raise SmsLeftBehind(
            f"{source} holds {held} that central's database lacks: an opt-out left there would be "
            f"lost, and the citizen messaged again. Run `{MOVE_COMMAND} --config <central.toml>` "
            "with central's processes stopped, then start central (docs/operations.md, "
            "\"Several central processes\")")
