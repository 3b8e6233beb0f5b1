"""Moving a case store kept in `cases.sqlite` into central's PostgreSQL database.

A central that kept its cases in `<data_dir>/cases.sqlite` beside a PostgreSQL event store
(before revision 0006) refuses to start on an empty case store in the database
(`central.cases.database.CasesLeftBehind`). This copies every table of the file there as
it is: the hash-chained case log (its rows, hashes and all, so a head published before
still verifies), the projection of every case with its countdown state, the issued
escalations, the sources' watermarks, the engine's own state (`case_meta`: the calendar's
and the rule table's fingerprints), the clear phones of stores written before sealing,
and the personal-data vault's keys, index and erasure log (the data stays sealed: nothing
is opened, except to index it again when the database's vault has an index key of its own).

A case whose hall's events were sealed in the database's event store already has a key
there under the same subject: the file's key goes beside it (a subject may hold several
keys on PostgreSQL, revision 0011), each token opening with the key its `key_id` names.
Only the same `key_id` with other key material is refused (one of the two would no longer
open); the same key with the same material is a resumed move's, and is skipped.

The file is only read (opened read-only) and never changed; `rename` moves it aside after
a successful move, so that nobody opens it again by mistake.

The copy goes in chunks, each a transaction of its own holding the case log's advisory
lock, each chunk one INSERT ... SELECT FROM `json_to_recordset` (as `central.cases.bulk`).
A marker row in `case_meta` (`moving_from`) is written in the first transaction and
deleted in the last; while it is there central refuses to start, and the move can be
run again with `resume` to finish: the log continues after the database's head (which
must be the file's record of that seq), every other row is inserted unless its key is
there already. The erasure log has no key of its own: it goes in the last transaction,
with the marker's deletion, so it is copied once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Connection, Integer, LargeBinary, Table, Text, text

from central.cases.database import CASE_LOG_LOCK, MOVING_FROM, open_case_database
from central.cases.eventlog import LogRecord
from central.cases.tables import (
    CASE_EVENTS,
    CASE_ISSUED,
    CASE_META,
    CASE_PERSONAL,
    CASE_SOURCES,
    CASES,
)
from central.chain import EMPTY, Head, VerifyReport, verify_chain
from central.personal import tokens, vault
from central.personal.vault import PERSONAL_ERASURES, PERSONAL_INDEX, PERSONAL_KEYS, PERSONAL_META
from spine.storeurl import StoreUrl

CHUNK = 5000
"""Rows per transaction: a few MB of JSON, a fraction of a second on the server."""

_NOT_INDEXED = frozenset({"officer_phone"})
"""Sealed fields whose values were never indexed (`central.cases.personal`): not indexed again."""


class MoveRefused(RuntimeError):
    """The move cannot start or go on: the reason says what to do."""


@dataclass
class MoveReport:
    """What a move copied, table by table, and the chain checked in the database after it."""

    source: Path
    copied: dict[str, int] = field(default_factory=dict)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Table -> (rows in the file, rows in the database) after the move."""
    reindexed: bool = False
    """The database's vault had an index key of its own: the phones were indexed again with it."""
    head: Head = EMPTY
    verified: VerifyReport | None = None
    renamed_to: Path | None = None


def move_cases(source: Path, target: StoreUrl, *, resume: bool = False, rename: bool = False,
               chunk: int = CHUNK) -> MoveReport:
    """Copy the case store in `source` (a SQLite file) into the PostgreSQL database `target`."""
    if target.is_sqlite:
        raise MoveRefused("the target is a SQLite file: the move is into central's PostgreSQL "
                          "database (postgresql://USER@HOST/DATABASE)")
    if not source.exists():
        raise MoveRefused(f"{source} does not exist")
    old = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        report = _move(old, source, target, resume=resume, chunk=chunk)
    finally:
        old.close()
    if rename:
        report.renamed_to = source.with_name(source.name + ".moved")
        for suffix in ("", "-wal", "-shm"):
            part = Path(str(source) + suffix)
            if part.exists():
                part.rename(Path(str(report.renamed_to) + suffix))
    return report


def _move(old: sqlite3.Connection, source: Path, target: StoreUrl, *, resume: bool,
          chunk: int) -> MoveReport:
    _check_columns(old, source)
    old_head = _source_head(old)
    checked = verify_chain(_links(old))
    if not checked.ok:
        raise MoveRefused(f"{source}: its case log does not verify (first bad record "
                          f"{checked.first_bad}: {checked.problem}); nothing was copied")
    database = open_case_database(target)
    sql = database.tx
    assert isinstance(sql, Connection)
    report = MoveReport(source, head=old_head)
    try:
        _refuse_other_material(old, sql)
        after = _start(sql, source, old_head, resume=resume)
        if after:
            _same_record(old, sql, after)
        report.reindexed = _copy_vault(old, sql, chunk, report)
        _copy(old, sql, CASE_PERSONAL, ("seq", "field"), chunk, report)
        _copy(old, sql, CASE_EVENTS, ("seq",), chunk, report, after_seq=after)
        for table, key in ((CASE_ISSUED, ("case_id", "kind")), (CASES, ("case_id",)),
                           (CASE_SOURCES, ("source",))):
            _copy(old, sql, table, key, chunk, report)
        _finish(old, sql, report)
        _check(old, sql, report)
    finally:
        database.close()
    return report


def _check_columns(old: sqlite3.Connection, source: Path) -> None:
    for table in (CASE_EVENTS, CASES, CASE_ISSUED, CASE_META, CASE_SOURCES, CASE_PERSONAL):
        have = {row[1] for row in old.execute(f"PRAGMA table_info({table.name})")}
        if not have:
            if table in (CASE_EVENTS, CASES):
                raise MoveRefused(f"{source} holds no case store (no table {table.name})")
            continue
        missing = sorted(set(table.c.keys()) - have)
        if missing:
            raise MoveRefused(
                f"{source}: {table.name} lacks {missing}: written by an older release; open it "
                f"once with this one (`hall central verify --db {source}`), then move it")


def _source_head(old: sqlite3.Connection) -> Head:
    row = old.execute("SELECT seq, hash FROM case_events ORDER BY seq DESC LIMIT 1").fetchone()
    return Head(int(row[0]), str(row[1])) if row else EMPTY


def _links(old: sqlite3.Connection, after: int = 0) -> Iterator[Any]:
    names = ", ".join(CASE_EVENTS.c.keys())
    cursor = old.execute(f"SELECT {names} FROM case_events WHERE seq > ? ORDER BY seq", (after,))
    while rows := cursor.fetchmany(CHUNK):
        for row in rows:
            yield LogRecord(*row).link


# -- the target: empty, or a move of the same file to finish ------------------------------


def _scalar(sql: Connection, statement: str, params: dict[str, Any] | None = None) -> Any:
    row = sql.execute(text(statement), params or {}).fetchone()
    return None if row is None else row[0]


def _start(sql: Connection, source: Path, old_head: Head, *, resume: bool) -> int:
    """Check the database may take the file's cases, mark the move begun; the seq to copy after."""
    marker = json.dumps({"file": str(source), "head": old_head.seq, "hash": old_head.hash})
    with _writing(sql):
        pending = _scalar(sql, "SELECT value FROM case_meta WHERE key = :key", {"key": MOVING_FROM})
        head_row = sql.execute(text(
            "SELECT seq, hash FROM case_events ORDER BY seq DESC LIMIT 1")).fetchone()
        cases = _scalar(sql, "SELECT count(*) FROM cases")
        meta = _scalar(sql, "SELECT count(*) FROM case_meta")
        if pending is None and head_row is None and not cases and not meta:
            sql.execute(text("INSERT INTO case_meta (key, value) VALUES (:key, :value)"),
                        {"key": MOVING_FROM, "value": marker})
            return 0
        if pending is None:
            raise MoveRefused(
                f"the case store in the database is not empty ({cases} cases, log head "
                f"{head_row[0] if head_row else 0}) and no move into it is unfinished: nothing "
                "was copied. If central was started on it before the move, its log holds the "
                "engine's own first records; see docs/operations.md, \"Moving the cases\"")
        if not resume:
            raise MoveRefused(f"a move into this database has not finished ({pending}): run "
                              "again with --resume to finish it")
        if pending != marker:
            raise MoveRefused(f"the unfinished move is of another file, or the file changed since "
                              f"it began ({pending}); this one is {marker}")
        return 0 if head_row is None else int(head_row[0])


def _refuse_other_material(old: sqlite3.Connection, sql: Connection) -> None:
    """Refuse when a key_id of the file is in the database with other key material: the copy
    (ON CONFLICT DO NOTHING) would keep the database's, and the file's tokens would not open.
    A subject with a key in both places under two key_ids is fine: both are kept."""
    if not old.execute("SELECT 1 FROM sqlite_master WHERE name = 'personal_keys'").fetchone():
        return
    cursor = old.execute("SELECT key_id, key FROM personal_keys ORDER BY key_id")
    clashes: list[str] = []
    while rows := cursor.fetchmany(CHUNK):
        theirs = {str(key_id): bytes(material) for key_id, material in rows}
        found = sql.execute(text("SELECT key_id, key FROM personal_keys WHERE key_id = "
                                 "ANY(:ids)"), {"ids": sorted(theirs)})
        clashes += [str(key_id) for key_id, material in found if bytes(material) != theirs[key_id]]
    if clashes:
        raise MoveRefused(
            f"{len(clashes)} personal-data keys (e.g. key_id {clashes[0]}) are in the file and in "
            "the database with different material: copying would leave the file's tokens "
            "unreadable. Nothing was copied")


def _same_record(old: sqlite3.Connection, sql: Connection, seq: int) -> None:
    """A resumed move continues the file's chain: the database's head is the file's record."""
    row = old.execute("SELECT hash FROM case_events WHERE seq = ?", (seq,)).fetchone()
    theirs = _scalar(sql, "SELECT hash FROM case_events WHERE seq = :seq", {"seq": seq})
    if row is None or row[0] != theirs:
        raise MoveRefused(f"the database's case log differs from the file's at record {seq}")


class _writing:
    """One transaction on the autocommit connection, holding the case log's advisory lock (every
    write to the case store holds it: `central.cases.database.transaction`)."""

    def __init__(self, sql: Connection) -> None:
        self.sql = sql

    def __enter__(self) -> Connection:
        self.sql.exec_driver_sql("BEGIN")
        self.sql.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CASE_LOG_LOCK})
        return self.sql

    def __exit__(self, kind: object, *_rest: object) -> None:
        self.sql.exec_driver_sql("ROLLBACK" if kind is not None else "COMMIT")


# -- copying --------------------------------------------------------------------------------


def _recordset(table: Table, names: Sequence[str]) -> tuple[str, str]:
    """The `AS r(...)` column list and the SELECT list: bytes travel as hex text in the JSON."""
    spelled, selected = [], []
    for name in names:
        kind = table.c[name].type
        if isinstance(kind, LargeBinary):
            spelled.append(f"{name} text")
            selected.append(f"decode(r.{name}, 'hex')")
            continue
        pg = "bigint" if isinstance(kind, BigInteger) else "integer" if isinstance(
            kind, Integer) else "text" if isinstance(kind, Text) else None
        if pg is None:
            raise TypeError(f"{table.name}.{name}: no PostgreSQL spelling for {kind!r}")
        spelled.append(f"{name} {pg}")
        selected.append(f"r.{name}")
    return ", ".join(spelled), ", ".join(selected)


def _insert_rows(sql: Connection, table: Table, names: Sequence[str], rows: Sequence[Sequence[Any]],
                 *, on_conflict: bool = True) -> None:
    record, selected = _recordset(table, names)
    conflict = " ON CONFLICT DO NOTHING" if on_conflict else ""
    statement = text(f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {selected} FROM "
                     f"json_to_recordset(CAST(:rows AS json)) AS r({record}){conflict}")
    payload = [{name: (value.hex() if isinstance(value, bytes) else value)
                for name, value in zip(names, row, strict=True)} for row in rows]
    sql.execute(statement, {"rows": json.dumps(payload, ensure_ascii=False)})


def _copy(old: sqlite3.Connection, sql: Connection, table: Table, key: Sequence[str], chunk: int,
          report: MoveReport, *, after_seq: int = 0) -> None:
    names = [column.name for column in table.columns]
    if not old.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table.name,)).fetchone():
        report.copied[table.name] = 0
        return
    where = " WHERE seq > ?" if table is CASE_EVENTS else ""
    cursor = old.execute(f"SELECT {', '.join(names)} FROM {table.name}{where} "
                         f"ORDER BY {', '.join(key)}", (after_seq,) if where else ())
    copied = 0
    while rows := cursor.fetchmany(chunk):
        with _writing(sql):
            # The log goes in order after the head: a key already there would be a fork.
            _insert_rows(sql, table, names, rows, on_conflict=table is not CASE_EVENTS)
        copied += len(rows)
    report.copied[table.name] = copied


def _copy_vault(old: sqlite3.Connection, sql: Connection, chunk: int, report: MoveReport) -> bool:
    """The cases' keys and their index; True when the index was made again with the database's
    own index key (its pepper), which the file's digests were not made with."""
    if not old.execute("SELECT 1 FROM sqlite_master WHERE name = 'personal_keys'").fetchone():
        return False
    _copy(old, sql, PERSONAL_KEYS, ("key_id",), chunk, report)
    row = old.execute("SELECT value FROM personal_meta WHERE name = 'index_pepper'").fetchone()
    if row is None:
        return False
    pepper = bytes(row[0])
    with _writing(sql):
        _insert_rows(sql, PERSONAL_META, ("name", "value"), [("index_pepper", pepper)])
        theirs = bytes(_scalar(sql, "SELECT value FROM personal_meta WHERE name = 'index_pepper'"))
    if theirs == pepper:
        _copy(old, sql, PERSONAL_INDEX, ("digest", "key_id"), chunk, report)
        return False
    digests = list(_digests_again(old, theirs))
    for start in range(0, len(digests), chunk):
        with _writing(sql):
            _insert_rows(sql, PERSONAL_INDEX, ("digest", "key_id"), digests[start:start + chunk])
    report.copied[PERSONAL_INDEX.name] = len(digests)
    return True


def _digests_again(old: sqlite3.Connection, pepper: bytes) -> Iterator[tuple[str, str]]:
    """The index of every sealed phone and ID number in the case log, made with `pepper`: each
    token opened with its case's key (a key erased leaves its tokens unopened, and unindexed)."""
    keys = {str(r[0]): vault.SubjectKey(str(r[0]), str(r[1]), bytes(r[2]))
            for r in old.execute("SELECT key_id, subject, key FROM personal_keys")}
    seen: set[tuple[str, str]] = set()
    for (body,) in old.execute("SELECT body FROM case_events ORDER BY seq"):
        for sealed in _indexed_tokens(json.loads(body)):
            key = keys.get(sealed.key_id)
            clear = None if key is None else vault.open_with(key, sealed)
            digest = None if clear is None else vault.index_digest(pepper, sealed.kind, clear)
            if digest is None:
                continue
            pair = (digest, sealed.key_id)
            if pair not in seen:
                seen.add(pair)
                yield pair


def _indexed_tokens(value: Any, name: str = "") -> Iterator[tokens.Sealed]:
    if name in _NOT_INDEXED:
        return
    if isinstance(value, str):
        yield from tokens.find_sealed(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _indexed_tokens(item, str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _indexed_tokens(item, name)


def _finish(old: sqlite3.Connection, sql: Connection, report: MoveReport) -> None:
    """The engine's state and the erasure log, and the marker gone, in one transaction."""
    meta = old.execute("SELECT key, value FROM case_meta WHERE key != ?", (MOVING_FROM,)).fetchall()
    erasures: list[Any] = []
    if old.execute("SELECT 1 FROM sqlite_master WHERE name = 'personal_erasures'").fetchone():
        erasures = old.execute(
            "SELECT subject, at, actor, reason FROM personal_erasures ORDER BY id").fetchall()
    with _writing(sql):
        if meta:
            _insert_rows(sql, CASE_META, ("key", "value"), meta)
        if erasures:
            _insert_rows(sql, PERSONAL_ERASURES, ("subject", "at", "actor", "reason"), erasures,
                         on_conflict=False)
        sql.execute(text("DELETE FROM case_meta WHERE key = :key"), {"key": MOVING_FROM})
    report.copied[CASE_META.name] = len(meta)
    report.copied[PERSONAL_ERASURES.name] = len(erasures)


def _check(old: sqlite3.Connection, sql: Connection, report: MoveReport) -> None:
    """The chain in the database verifies and ends at the file's head; the case tables hold as
    many rows as the file's."""
    from central.cases.eventlog import CaseLog

    report.verified = verify_chain(record.link for record in CaseLog(sql).records())
    for table in (CASE_EVENTS, CASES, CASE_ISSUED, CASE_SOURCES, CASE_PERSONAL):
        there = old.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table.name,)).fetchone()
        theirs = old.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0] if there else 0
        report.counts[table.name] = (int(theirs), int(_scalar(sql, f"SELECT count(*) FROM {table.name}")))
    if not report.verified.ok:
        raise MoveRefused(f"the case log in the database does not verify after the move: "
                          f"{report.verified.problem}")
    if report.verified.head != report.head:
        raise MoveRefused(f"the database's log ends at {report.verified.head.seq}, the file's at "
                          f"{report.head.seq}")
    wrong = {name: pair for name, pair in report.counts.items() if pair[0] != pair[1]}
    if wrong:
        raise MoveRefused(f"rows in the file and in the database differ: {wrong}")
