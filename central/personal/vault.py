"""The keys of central's data subjects, a keyed index to find them by phone, and the erasure log.

The tables live in the SQLite file whose logs they seal (the case store's file,
central's event store), so a key is created in the same transaction as the
first record sealed with it: no record without its key, no key left behind by
a rolled-back entry. They are never part of a hash chain: deleting a key is
what erasure is. The connection runs with `secure_delete`, and the write-ahead
log is truncated after an erasure, so a deleted key does not linger in free
pages or old WAL frames.

Module functions over the owner's connection (writes, inside its transaction)
or its read callable (reads); nothing is cached, so an erasure made by another
process (`hall central privacy erase`) holds at once for the running service.
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

from central.personal import tokens
from contract.privacy import PersonalKind, find_personal_data, normalize_phone
from spine.sqlite import append_only

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

Read = Callable[[str, tuple[Any, ...]], list[Any]]
"""A read of the owner's file: `CentralStore.query`, or `reads(connection)`."""

_NONCE = 12


def reads(connection: sqlite3.Connection) -> Read:
    """A `Read` over a connection the caller already holds (inside its transaction, say)."""
    return lambda sql, params: connection.execute(sql, params).fetchall()


def install(tx: sqlite3.Connection) -> None:
    """Create the tables inside the caller's transaction, and zero what is deleted from now on."""
    statement = ""
    for line in SCHEMA.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            tx.execute(statement)
            statement = ""
    secure_delete(tx)


def secure_delete(connection: sqlite3.Connection) -> None:
    """Deleted rows (erased keys) are overwritten with zeros, not left in free pages."""
    connection.execute("PRAGMA secure_delete=ON")


@dataclass(frozen=True)
class SubjectKey:
    key_id: str
    subject: str
    material: bytes


# --- keys -------------------------------------------------------------------------------------


def key_for(tx: sqlite3.Connection, subject: str) -> SubjectKey:
    """The subject's key, made now if it has none (a subject erased earlier gets a new one: the
    data sealed from now on is new data, and retention erases it again)."""
    row = tx.execute("SELECT key_id, key FROM personal_keys WHERE subject = ?", (subject,)).fetchone()
    if row is not None:
        return SubjectKey(row[0], subject, bytes(row[1]))
    key = SubjectKey(secrets.token_urlsafe(9), subject, AESGCM.generate_key(bit_length=256))
    tx.execute("INSERT INTO personal_keys (key_id, subject, key, created_at) VALUES (?, ?, ?, ?)",
               (key.key_id, subject, key.material, int(time.time() * 1000)))
    return key


def kept_key(read: Read, subject: str) -> SubjectKey | None:
    """The subject's key if it still has one (never creates one)."""
    rows = read("SELECT key_id, key FROM personal_keys WHERE subject = ?", (subject,))
    return SubjectKey(rows[0][0], subject, bytes(rows[0][1])) if rows else None


def keys_by_id(read: Read, key_ids: Iterable[str]) -> dict[str, SubjectKey]:
    wanted = sorted(set(key_ids))
    found: dict[str, SubjectKey] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        for key_id, subject, material in read(
            f"SELECT key_id, subject, key FROM personal_keys WHERE key_id IN ({','.join('?' * len(chunk))})",
            tuple(chunk),
        ):
            found[key_id] = SubjectKey(key_id, subject, bytes(material))
    return found


def kept_subjects(read: Read, subjects: Sequence[str]) -> set[str]:
    """Which of `subjects` still have a key (the others were erased, or never had data)."""
    kept: set[str] = set()
    for start in range(0, len(subjects), 500):
        chunk = tuple(subjects[start:start + 500])
        kept.update(row[0] for row in read(
            f"SELECT subject FROM personal_keys WHERE subject IN ({','.join('?' * len(chunk))})", chunk))
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


class Sealer:
    """Seals the personal data of one subject inside the caller's transaction. Its key is read (or
    made) once, at the first value that needs one: an entry with three personal fields and a note
    costs one look-up."""

    def __init__(self, tx: sqlite3.Connection, subject: str) -> None:
        self.tx = tx
        self.subject = subject
        self._key: SubjectKey | None = None
        self._pepper: bytes | None = None

    @property
    def key(self) -> SubjectKey:
        if self._key is None:
            self._key = key_for(self.tx, self.subject)
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
            self._pepper = _pepper(reads(self.tx), self.tx)
        assert self._pepper is not None
        digest = hmac.new(self._pepper, form.encode(), hashlib.sha256).hexdigest()
        self.tx.execute("INSERT OR IGNORE INTO personal_index (digest, key_id) VALUES (?, ?)",
                        (digest, self.key.key_id))


def seal(tx: sqlite3.Connection, subject: str, kind: PersonalKind, value: str, *,
         indexed: bool = True) -> str:
    """One value sealed for its subject (see `Sealer.value`)."""
    return Sealer(tx, subject).value(kind, value, indexed=indexed)


def seal_text(tx: sqlite3.Connection, subject: str, text: str) -> str:
    """Free text with its phones and ID numbers sealed for its subject (see `Sealer.text`)."""
    return Sealer(tx, subject).text(text)


def keyed_digest(key: SubjectKey, payload: bytes) -> str:
    """A digest only the subject's key can make: it dies with the key, as the data does."""
    digest_key = hmac.new(key.material, b"hallwatch digest", hashlib.sha256).digest()
    return hmac.new(digest_key, payload, hashlib.sha256).hexdigest()


# --- finding a citizen ------------------------------------------------------------------------


def _pepper(read: Read, tx: sqlite3.Connection | None = None) -> bytes | None:
    rows = read("SELECT value FROM personal_meta WHERE name = 'index_pepper'", ())
    if rows:
        return bytes(rows[0][0])
    if tx is None:
        return None
    pepper = secrets.token_bytes(32)
    tx.execute("INSERT INTO personal_meta (name, value) VALUES ('index_pepper', ?)", (pepper,))
    return pepper


def _lookup_form(kind: PersonalKind, value: str) -> str | None:
    if kind.is_phone:
        digits = normalize_phone(value)
        return f"phone:{digits}" if len(digits) >= 7 else None
    if kind is PersonalKind.ID_NUMBER:
        return "id:" + value.replace(" ", "").replace("-", "").upper()
    return None


def subjects_holding(read: Read, kind: PersonalKind, value: str) -> list[str]:
    """The subjects whose sealed data holds this phone (any form) or ID number."""
    form = _lookup_form(kind, value)
    pepper = _pepper(read)
    if form is None or pepper is None:
        return []
    digest = hmac.new(pepper, form.encode(), hashlib.sha256).hexdigest()
    return [row[0] for row in read(
        "SELECT k.subject FROM personal_index i JOIN personal_keys k ON k.key_id = i.key_id "
        "WHERE i.digest = ? ORDER BY k.subject", (digest,))]


# --- erasing ----------------------------------------------------------------------------------


def erase(tx: sqlite3.Connection, subjects: Iterable[str], *, actor: str, reason: str,
          now_ms: int) -> list[str]:
    """Delete the keys of `subjects` (and their index rows), logging each; returns those erased."""
    secure_delete(tx)  # whoever opened the connection: the deleted keys are zeroed, not freed
    erased = []
    for subject in subjects:
        row = tx.execute("SELECT key_id FROM personal_keys WHERE subject = ?", (subject,)).fetchone()
        if row is None:
            continue
        tx.execute("DELETE FROM personal_index WHERE key_id = ?", (row[0],))
        tx.execute("DELETE FROM personal_keys WHERE key_id = ?", (row[0],))
        tx.execute("INSERT INTO personal_erasures (subject, at, actor, reason) VALUES (?, ?, ?, ?)",
                   (subject, now_ms, actor, reason))
        erased.append(subject)
    return erased


def forget_old_frames(connection: sqlite3.Connection) -> None:
    """After an erasure: copy the write-ahead log into the file and truncate it, so the deleted
    keys' old page images do not stay in it (best effort: a reader may hold it a moment longer)."""
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def erasures(read: Read, limit: int = 100) -> list[dict[str, Any]]:
    """The erasure log, newest first: which subject, when, by whom, why (never what was erased)."""
    return [{"subject": subject, "at": at, "actor": actor, "reason": reason}
            for subject, at, actor, reason in read(
                "SELECT subject, at, actor, reason FROM personal_erasures ORDER BY id DESC LIMIT ?",
                (limit,))]
