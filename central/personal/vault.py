"""The keys of central's data subjects, a keyed index to find them by phone, and the erasure log.

The tables live in the database whose logs they seal (the case store's file,
central's event store), so a key is created in the same transaction as the
first record sealed with it: no record without its key, no key left behind by
a rolled-back entry. They are never part of a hash chain: deleting a key is
what erasure is. On SQLite the connection runs with `secure_delete`, and the
write-ahead log is truncated after an erasure, so a deleted key does not linger
in free pages or old WAL frames; on PostgreSQL (central's event store) an
erasure is followed by a VACUUM of the key tables (`forget_old_frames`).

Module functions over the owner's connection (writes, inside its transaction)
or a read of it (reads); nothing is cached, so an erasure made by another
process (`hall central privacy erase`) holds at once for the running service.
Their statements are written once for SQLite and PostgreSQL (`spine.statement`):
the case store runs them on its raw SQLite connection, central's event store on
either database; on PostgreSQL the tables are the migrations' (revision 0003).

A subject may hold several keys on PostgreSQL (revision 0011 dropped the UNIQUE on
`personal_keys.subject`): a case store moved from `cases.sqlite` brings the case's key
beside the one the database's event store sealed the hall's events about it with
(`central.cases.move`), and neither set of tokens can be sealed again (they sit in
hash-chained log bodies). So a token opens with the key its `key_id` names, never
"the subject's key"; new data is sealed with the subject's oldest key (by
`created_at`, then `key_id`: the same one in every process); and erasure deletes every
key of the subject. In a SQLite file a subject never has two (the UNIQUE stays there:
the code is the same).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Executable,
    Identity,
    Index,
    LargeBinary,
    MetaData,
    Table,
    Text,
    bindparam,
    delete,
    desc,
    select,
)

from central.personal import tokens
from central.reads import Read, Source
from central.reads import rows as _rows
from contract.privacy import PersonalKind, find_personal_data, normalize_phone
from spine.sqlite import append_only
from spine.statement import Statement, Tx, insert_for

SCHEMA = """
CREATE TABLE IF NOT EXISTS personal_keys (
    key_id TEXT PRIMARY KEY,
    subject TEXT NOT NULL UNIQUE,
    key BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS personal_index (
    digest TEXT NOT NULL,
    key_id TEXT NOT NULL,
    PRIMARY KEY (digest, key_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS personal_index_by_key ON personal_index (key_id);
CREATE TABLE IF NOT EXISTS personal_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS personal_erasures (
    id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL
);
""" + append_only("personal_erasures", "the erasure log")

VAULT_TABLES = MetaData()
PERSONAL_KEYS = Table(
    "personal_keys", VAULT_TABLES,
    Column("key_id", Text, primary_key=True),
    Column("subject", Text, nullable=False),
    Column("key", LargeBinary, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("personal_keys_by_subject", "subject"),
)
PERSONAL_INDEX = Table(
    "personal_index", VAULT_TABLES,
    Column("digest", Text, primary_key=True),
    Column("key_id", Text, primary_key=True),
    Index("personal_index_by_key", "key_id"),
)
PERSONAL_META = Table(
    "personal_meta", VAULT_TABLES,
    Column("name", Text, primary_key=True),
    Column("value", LargeBinary, nullable=False),
)
PERSONAL_ERASURES = Table(
    "personal_erasures", VAULT_TABLES,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("subject", Text, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=False),
)
"""`SCHEMA` in SQLAlchemy Core: the statements' tables (made on PostgreSQL by migration 0003;
0011 let a subject hold several keys there, `personal_keys_by_subject`)."""

_NONCE = 12


def reads(connection: sqlite3.Connection) -> Read:
    """A `Read` over a connection the caller already holds (inside its transaction, say)."""
    return lambda sql, params: connection.execute(sql, params).fetchall()


def install(tx: Tx) -> None:
    """Create the tables inside the caller's transaction, and zero what is deleted from now on
    (on SQLite; on PostgreSQL the tables are the migrations' and this does nothing)."""
    if not isinstance(tx, sqlite3.Connection):
        return
    statement = ""
    for line in SCHEMA.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            tx.execute(statement)
            statement = ""
    secure_delete(tx)


def secure_delete(connection: Tx) -> None:
    """Deleted rows (erased keys) are overwritten with zeros, not left in free pages (SQLite: on
    PostgreSQL the VACUUM after an erasure, `forget_old_frames`, frees them)."""
    if isinstance(connection, sqlite3.Connection):
        connection.execute("PRAGMA secure_delete=ON")


@dataclass(frozen=True)
class SubjectKey:
    key_id: str
    subject: str
    material: bytes


# --- keys -------------------------------------------------------------------------------------


_OLDEST_FIRST = (PERSONAL_KEYS.c.created_at, PERSONAL_KEYS.c.key_id)
"""The order of a subject's keys: the first seals its new data (`key_for`), in every process."""
_KEYS_OF = Statement(lambda _dialect: select(
    PERSONAL_KEYS.c.key_id, PERSONAL_KEYS.c.key, PERSONAL_KEYS.c.created_at).where(
    PERSONAL_KEYS.c.subject == bindparam("subject")).order_by(*_OLDEST_FIRST))
_NEW_KEY = Statement(lambda _dialect: PERSONAL_KEYS.insert().values(
    {name: bindparam(name) for name in ("key_id", "subject", "key", "created_at")}))
_INDEXED = Statement(lambda dialect: insert_for(dialect, PERSONAL_INDEX).values(
    digest=bindparam("digest"), key_id=bindparam("key_id")).on_conflict_do_nothing())
_PEPPER = Statement(lambda _dialect: select(PERSONAL_META.c.value).where(
    PERSONAL_META.c.name == "index_pepper"))
_NEW_PEPPER = Statement(lambda _dialect: PERSONAL_META.insert().values(
    name="index_pepper", value=bindparam("value")))
_HOLDING = Statement(lambda _dialect: select(PERSONAL_KEYS.c.subject).distinct().select_from(
    PERSONAL_INDEX.join(PERSONAL_KEYS, PERSONAL_KEYS.c.key_id == PERSONAL_INDEX.c.key_id)
).where(PERSONAL_INDEX.c.digest == bindparam("digest")).order_by(PERSONAL_KEYS.c.subject))
_UNINDEX = Statement(lambda _dialect: delete(PERSONAL_INDEX).where(
    PERSONAL_INDEX.c.key_id.in_(select(PERSONAL_KEYS.c.key_id).where(
        PERSONAL_KEYS.c.subject == bindparam("subject")).scalar_subquery())))
_DROP_KEYS = Statement(lambda _dialect: delete(PERSONAL_KEYS).where(
    PERSONAL_KEYS.c.subject == bindparam("subject")))
_ERASED = Statement(lambda _dialect: PERSONAL_ERASURES.insert().values(
    {name: bindparam(name) for name in ("subject", "at", "actor", "reason")}))
_ERASURES = Statement(lambda _dialect: select(
    PERSONAL_ERASURES.c.subject, PERSONAL_ERASURES.c.at, PERSONAL_ERASURES.c.actor,
    PERSONAL_ERASURES.c.reason).order_by(desc(PERSONAL_ERASURES.c.id)).limit(bindparam("limit")))

_CHUNK = 512
_BY_ID: dict[int, Statement] = {}
_BY_SUBJECT: dict[int, Statement] = {}
"""`... IN (:k0, ..., :kN)` for N a power of two up to `_CHUNK`: a list is padded with its last
value to the next one, so a handful of statements serve every length (an expanding parameter
would be compiled again for every length it meets)."""


def _keys_where(wanted: ColumnElement[bool]) -> Callable[[str], Executable]:
    return lambda _dialect: select(PERSONAL_KEYS.c.key_id, PERSONAL_KEYS.c.subject,
                                   PERSONAL_KEYS.c.key).where(wanted).order_by(*_OLDEST_FIRST)


def _among(statements: dict[int, Statement], column: str, values: Sequence[str],
           ) -> Iterable[tuple[Statement, dict[str, str]]]:
    """One padded `IN` statement and its params per chunk of `values` (see `_BY_ID`)."""
    for start in range(0, len(values), _CHUNK):
        chunk = list(values[start:start + _CHUNK])
        width = 1 << (len(chunk) - 1).bit_length()
        chunk += [chunk[-1]] * (width - len(chunk))
        if width not in statements:
            names = [f"k{i}" for i in range(width)]
            wanted = PERSONAL_KEYS.c[column].in_([bindparam(name) for name in names])
            statements[width] = Statement(_keys_where(wanted))
        yield statements[width], {f"k{i}": value for i, value in enumerate(chunk)}


def key_for(tx: Tx, subject: str) -> SubjectKey:
    """The key new data of the subject is sealed with (its oldest), made now if it has none (a
    subject erased earlier gets a new one: the data sealed from now on is new data, and
    retention erases it again)."""
    row = _KEYS_OF.run(tx, {"subject": subject}).fetchone()
    if row is not None:
        return SubjectKey(row[0], subject, bytes(row[1]))
    key = SubjectKey(secrets.token_urlsafe(9), subject, AESGCM.generate_key(bit_length=256))
    _NEW_KEY.run(tx, {"key_id": key.key_id, "subject": subject, "key": key.material,
                      "created_at": int(time.time() * 1000)})
    return key


def kept_key(read: Source, subject: str) -> SubjectKey | None:
    """The key the subject's new data is sealed with (its oldest), if it still has one (never
    creates one)."""
    keys = kept_keys(read, subject)
    return keys[0] if keys else None


def kept_keys(read: Source, subject: str) -> list[SubjectKey]:
    """Every key the subject still has, oldest first: one, except on PostgreSQL after a case
    store was moved in (`central.cases.move`), when its records were sealed under two."""
    return [SubjectKey(str(row[0]), subject, bytes(row[1]))
            for row in _rows(read, _KEYS_OF, {"subject": subject})]


def made_by_any(keys: Sequence[SubjectKey], payload: bytes, digest: str) -> bool:
    """Whether `digest` is the `keyed_digest` of `payload` under one of the subject's `keys` (a
    record may have been written under any of them)."""
    return any(hmac.compare_digest(keyed_digest(key, payload), digest) for key in keys)


def keys_by_id(read: Source, key_ids: Iterable[str]) -> dict[str, SubjectKey]:
    found: dict[str, SubjectKey] = {}
    for statement, params in _among(_BY_ID, "key_id", sorted(set(key_ids))):
        for key_id, subject, material in _rows(read, statement, params):
            found[key_id] = SubjectKey(key_id, subject, bytes(material))
    return found


def kept_subjects(read: Source, subjects: Sequence[str]) -> set[str]:
    """Which of `subjects` still have a key (the others were erased, or never had data)."""
    kept: set[str] = set()
    for statement, params in _among(_BY_SUBJECT, "subject", sorted(set(subjects))):
        kept.update(row[1] for row in _rows(read, statement, params))
    return kept


# --- sealing ----------------------------------------------------------------------------------


def _aad(kind: PersonalKind, key: SubjectKey) -> bytes:
    # The subject is bound in: a token copied into another record's text does not open there.
    return f"{tokens.VERSION}:{kind.value}:{key.key_id}:{key.subject}".encode()


def seal_with(key: SubjectKey, kind: PersonalKind, value: str) -> str:
    nonce = os.urandom(_NONCE)
    return tokens.token(kind, key.key_id,
                        nonce + AESGCM(key.material).encrypt(nonce, value.encode(), _aad(kind, key)))


def open_with(key: SubjectKey, sealed: tokens.Sealed) -> str | None:
    """The clear value, or None if the token was not sealed with this key for this subject."""
    try:
        clear = AESGCM(key.material).decrypt(sealed.data[:_NONCE], sealed.data[_NONCE:],
                                             _aad(sealed.kind, key))
    except InvalidTag:
        return None
    return clear.decode()


class SealingBatch:
    """Many subjects sealed inside one transaction, their new keys and index rows written together
    when it ends (`write`, before the commit): an import seals thousands of cases a chunk, and on
    PostgreSQL every key's look-up, key's insert and index row is a round trip of its own. The
    keys of the subjects named to `prefetch` are read with one statement per 512."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.keys: dict[str, SubjectKey] = {}
        """Each subject's sealing key (its oldest)."""
        self.every_key: dict[str, list[SubjectKey]] = {}
        """Each subject's keys, oldest first (`kept_keys`)."""
        self._looked_up: set[str] = set()
        self._new_keys: list[dict[str, Any]] = []
        self._index: list[dict[str, str]] = []
        self._pepper: bytes | None = None

    def prefetch(self, subjects: Iterable[str]) -> None:
        wanted = sorted(set(subjects) - self._looked_up)
        for statement, params in _among(_BY_SUBJECT, "subject", wanted):
            # Oldest first: a subject's first row is its sealing key (`key_for`).
            for key_id, subject, material in _rows(self.tx, statement, params):
                key = SubjectKey(str(key_id), str(subject), bytes(material))
                self.every_key.setdefault(key.subject, []).append(key)
                self.keys.setdefault(key.subject, key)
        self._looked_up.update(wanted)

    def kept(self, subject: str) -> SubjectKey | None:
        """The subject's key if it has one, made in this batch or stored (never creates one)."""
        if subject not in self.keys and subject not in self._looked_up:
            return kept_key(self.tx, subject)
        return self.keys.get(subject)

    def kept_keys(self, subject: str) -> list[SubjectKey]:
        """Every key of the subject, made in this batch or stored, oldest first."""
        if subject not in self.keys and subject not in self._looked_up:
            return kept_keys(self.tx, subject)
        return self.every_key.get(subject, [])

    def key_for(self, subject: str) -> SubjectKey:
        if subject not in self.keys and subject not in self._looked_up:
            self.prefetch([subject])
        key = self.keys.get(subject)
        if key is None:
            key = SubjectKey(secrets.token_urlsafe(9), subject, AESGCM.generate_key(bit_length=256))
            self._new_keys.append({"key_id": key.key_id, "subject": subject, "key": key.material,
                                   "created_at": int(time.time() * 1000)})
            self.keys[subject] = key
            self.every_key[subject] = [key]
        return key

    def pepper(self) -> bytes:
        if self._pepper is None:
            self._pepper = _pepper(self.tx, self.tx)
        assert self._pepper is not None
        return self._pepper

    def index(self, digest: str, key_id: str) -> None:
        self._index.append({"digest": digest, "key_id": key_id})

    def write(self) -> None:
        """The batch's new keys and index rows, each table one driver call (pipelined)."""
        _NEW_KEY.run_many(self.tx, self._new_keys)
        _INDEXED.run_many(self.tx, self._index)
        self._new_keys, self._index = [], []


class Sealer:
    """Seals the personal data of one subject inside the caller's transaction. Its key is read (or
    made) once, at the first value that needs one: an entry with three personal fields and a note
    costs one look-up. With a `batch`, its key and index rows go through it (`SealingBatch`)."""

    def __init__(self, tx: Tx, subject: str, batch: SealingBatch | None = None) -> None:
        self.tx = tx
        self.subject = subject
        self.batch = batch
        self._key: SubjectKey | None = None
        self._pepper: bytes | None = None

    @property
    def key(self) -> SubjectKey:
        if self._key is None:
            self._key = (self.batch.key_for(self.subject) if self.batch is not None
                         else key_for(self.tx, self.subject))
        return self._key

    def value(self, kind: PersonalKind, value: str, *, indexed: bool = True) -> str:
        """One value sealed; phones and ID numbers are indexed so that a citizen's request finds
        it (`indexed=False` for a number that is not the subject's own, e.g. the officer's phone
        in a case)."""
        if indexed:
            self._index(kind, value)
        return seal_with(self.key, kind, value)

    def text(self, text: str) -> str:
        """Free text with each phone and ID number in it sealed in place; text without any is
        kept as it is, and no key is made for it."""
        text = tokens.defuse(text)
        spans = find_personal_data(text)
        if not spans:
            return text
        out, position = [], 0
        for span in spans:
            out.append(text[position:span.start])
            self._index(span.kind, span.value)
            # The words as typed are sealed (the officer calling back sees what the citizen wrote).
            out.append(seal_with(self.key, span.kind, text[span.start:span.end]))
            position = span.end
        out.append(text[position:])
        return "".join(out)

    def digest(self, payload: bytes) -> str:
        return keyed_digest(self.key, payload)

    def _index(self, kind: PersonalKind, value: str) -> None:
        form = _lookup_form(kind, value)
        if form is None:
            return
        if self._pepper is None:
            self._pepper = self.batch.pepper() if self.batch is not None else _pepper(self.tx, self.tx)
        assert self._pepper is not None
        digest = hmac.new(self._pepper, form.encode(), hashlib.sha256).hexdigest()
        if self.batch is not None:
            self.batch.index(digest, self.key.key_id)
            return
        _INDEXED.run(self.tx, {"digest": digest, "key_id": self.key.key_id})


def seal(tx: Tx, subject: str, kind: PersonalKind, value: str, *,
         indexed: bool = True) -> str:
    """One value sealed for its subject (see `Sealer.value`)."""
    return Sealer(tx, subject).value(kind, value, indexed=indexed)


def seal_text(tx: Tx, subject: str, text: str) -> str:
    """Free text with its phones and ID numbers sealed for its subject (see `Sealer.text`)."""
    return Sealer(tx, subject).text(text)


def keyed_digest(key: SubjectKey, payload: bytes) -> str:
    """A digest only the subject's key can make: it dies with the key, as the data does."""
    digest_key = hmac.new(key.material, b"hallwatch digest", hashlib.sha256).digest()
    return hmac.new(digest_key, payload, hashlib.sha256).hexdigest()


# --- finding a citizen ------------------------------------------------------------------------


def _pepper(read: Source, tx: Tx | None = None) -> bytes | None:
    rows = _rows(read, _PEPPER)
    if rows:
        return bytes(rows[0][0])
    if tx is None:
        return None
    pepper = secrets.token_bytes(32)
    _NEW_PEPPER.run(tx, {"value": pepper})
    return pepper


def _lookup_form(kind: PersonalKind, value: str) -> str | None:
    if kind.is_phone:
        digits = normalize_phone(value)
        return f"phone:{digits}" if len(digits) >= 7 else None
    if kind is PersonalKind.ID_NUMBER:
        return "id:" + value.replace(" ", "").replace("-", "").upper()
    return None


def index_digest(pepper: bytes, kind: PersonalKind, value: str) -> str | None:
    """The index's digest of a phone (any form) or ID number under the index key `pepper`; None
    for a kind that is not indexed (moving a case store indexes its values again with the
    database's key: `central.cases.move`)."""
    form = _lookup_form(kind, value)
    return None if form is None else hmac.new(pepper, form.encode(), hashlib.sha256).hexdigest()


def subjects_holding(read: Source, kind: PersonalKind, value: str) -> list[str]:
    """The subjects whose sealed data holds this phone (any form) or ID number."""
    form = _lookup_form(kind, value)
    pepper = _pepper(read)
    if form is None or pepper is None:
        return []
    digest = hmac.new(pepper, form.encode(), hashlib.sha256).hexdigest()
    return [row[0] for row in _rows(read, _HOLDING, {"digest": digest})]


# --- erasing ----------------------------------------------------------------------------------


def erase(tx: Tx, subjects: Iterable[str], *, actor: str, reason: str,
          now_ms: int) -> list[str]:
    """Delete every key of `subjects` (and their index rows), logging each subject once; returns
    those erased."""
    secure_delete(tx)  # whoever opened the connection: the deleted keys are zeroed, not freed
    erased = []
    for subject in subjects:
        if _KEYS_OF.run(tx, {"subject": subject}).fetchone() is None:
            continue
        _UNINDEX.run(tx, {"subject": subject})
        _DROP_KEYS.run(tx, {"subject": subject})
        _ERASED.run(tx, {"subject": subject, "at": now_ms, "actor": actor, "reason": reason})
        erased.append(subject)
    return erased


def forget_old_frames(connection: sqlite3.Connection | Connection) -> None:
    """After an erasure, outside its transaction: the deleted keys' old images go too.

    SQLite: copy the write-ahead log into the file and truncate it, so their page images
    do not stay in it (best effort: a reader may hold it a moment longer). PostgreSQL
    (`connection` not in a transaction): VACUUM the key tables, so the dead rows' space is
    reclaimed and reused rather than kept until autovacuum comes by. Their bytes may stay in
    free space until overwritten, and in WAL archives and backups until those expire: the
    operator's backup retention bounds how long an erased key can still be restored."""
    if not isinstance(connection, sqlite3.Connection) and connection.dialect.name == "sqlite":
        # The file's own connection (SQLAlchemy would open a transaction around the PRAGMA).
        raw = connection.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        connection = raw
    if isinstance(connection, sqlite3.Connection):
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        # Already so (the case store's connection): asking again would fail once it has run a
        # statement, and its driver is outside any transaction anyway.
        connection.exec_driver_sql("VACUUM personal_keys, personal_index")
        return
    autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
    autocommit.exec_driver_sql("VACUUM personal_keys, personal_index")


def erasures(read: Source, limit: int = 100) -> list[dict[str, Any]]:
    """The erasure log, newest first: which subject, when, by whom, why (never what was erased)."""
    return [{"subject": subject, "at": at, "actor": actor, "reason": reason}
            for subject, at, actor, reason in _rows(read, _ERASURES, {"limit": limit})]
