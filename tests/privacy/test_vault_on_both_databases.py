"""The vault's statements on a SQLite file (the case store's raw connection) and on PostgreSQL
(central's database): a subject's new data sealed with one key in every process, and on
PostgreSQL a subject holding two keys (a moved case store's and the event store's), each token
opening with its own, both found by phone, both deleted by one erasure logged once. In a SQLite
file a subject still has one key (the UNIQUE stays)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy
from sqlalchemy import Engine, text

from central.personal import Reader, vault
from contract.privacy import ERASED, PersonalKind
from spine.engines import open_engine
from spine.sqlite import Transaction, open_database
from spine.statement import Tx
from spine.storeurl import StoreUrl

SUBJECT = "case:TWO-1"


class Owner:
    """The vault's owner on either database: a write transaction, and a read."""

    def __init__(self, url: StoreUrl) -> None:
        self.url = url
        self.file: sqlite3.Connection | None = None
        self.engine: Engine | None = None
        self.reads: list[sqlalchemy.Connection] = []
        if url.is_sqlite:
            assert url.path is not None
            self.file = open_database(url.path)
            with Transaction(self.file) as tx:
                vault.install(tx)
        else:
            self.engine = open_engine(url)

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        if self.file is not None:
            with Transaction(self.file) as tx:
                yield tx
            return
        assert self.engine is not None
        with self.engine.begin() as connection:
            yield connection

    def reader(self) -> Reader:
        if self.file is not None:
            return Reader(vault.reads(self.file))
        assert self.engine is not None
        self.reads.append(self.engine.connect())
        return Reader(self.reads[-1])

    def second_key(self, subject: str, key_id: str, created_at: int) -> vault.SubjectKey:
        """A key stored beside the subject's, as `hall central move-cases` copies a file's."""
        key = vault.SubjectKey(key_id, subject, bytes(range(32)))
        with self.tx() as tx:
            if isinstance(tx, sqlite3.Connection):
                tx.execute("INSERT INTO personal_keys (key_id, subject, key, created_at) "
                           "VALUES (?, ?, ?, ?)", (key_id, subject, key.material, created_at))
            else:
                tx.execute(vault.PERSONAL_KEYS.insert().values(
                    key_id=key_id, subject=subject, key=key.material, created_at=created_at))
        return key

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        for read in self.reads:
            read.close()
        if self.engine is not None:
            self.engine.dispose()


@pytest.fixture
def owner(store_url: StoreUrl) -> Iterator[Owner]:
    owner = Owner(store_url)
    yield owner
    owner.close()


def test_a_subject_seals_with_one_key_opens_and_is_erased(owner: Owner) -> None:
    with owner.tx() as tx:
        token = vault.seal(tx, SUBJECT, PersonalKind.MOBILE, "138 1111 0002")
        again = vault.seal(tx, SUBJECT, PersonalKind.NAME, "张三丰")
    with owner.tx() as tx:
        assert len(vault.kept_keys(tx, SUBJECT)) == 1  # the second value reused the key
        assert vault.subjects_holding(tx, PersonalKind.MOBILE, "13811110002") == [SUBJECT]
    reader = owner.reader()
    assert reader.clear(SUBJECT, token) == "138 1111 0002"
    assert reader.masked(SUBJECT, again, PersonalKind.NAME) == "张**"
    with owner.tx() as tx:
        assert vault.erase(tx, [SUBJECT], actor="office", reason="request", now_ms=1) == [SUBJECT]
    assert owner.reader().clear(SUBJECT, token) == ERASED


def test_a_subject_with_two_keys_on_postgresql_opens_both_and_loses_both(owner: Owner) -> None:
    with owner.tx() as tx:
        first = vault.seal(tx, SUBJECT, PersonalKind.MOBILE, "13811110002")
        oldest = vault.kept_keys(tx, SUBJECT)[0]
    if owner.url.is_sqlite:
        # A file keeps one key a subject: nothing there makes a second.
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            owner.second_key(SUBJECT, "moved-key-01", created_at=oldest_ms(owner) + 1)
        return
    # A later key beside it (a moved file's), with a token of its own, indexed as the move does.
    later = owner.second_key(SUBJECT, "moved-key-01", created_at=oldest_ms(owner) + 1)
    second = vault.seal_with(later, PersonalKind.MOBILE, "13922223333")
    with owner.tx() as tx:
        assert isinstance(tx, sqlalchemy.Connection)
        pepper = tx.execute(sqlalchemy.select(vault.PERSONAL_META.c.value)).scalar_one()
        tx.execute(vault.PERSONAL_INDEX.insert().values(key_id=later.key_id, digest=vault.index_digest(
            bytes(pepper), PersonalKind.MOBILE, "13922223333")))
        # The oldest seals new data, in every process, whichever key was stored last.
        assert vault.kept_key(tx, SUBJECT) == oldest
        assert vault.key_for(tx, SUBJECT) == oldest
        batch = vault.SealingBatch(tx)
        batch.prefetch([SUBJECT, "case:other"])
        assert batch.key_for(SUBJECT) == oldest
        assert [key.key_id for key in batch.kept_keys(SUBJECT)] == [oldest.key_id, later.key_id]
        # A digest made with either key is recognised (a resent case entry).
        assert vault.made_by_any(vault.kept_keys(tx, SUBJECT), b"entry",
                                 vault.keyed_digest(later, b"entry"))
        assert not vault.made_by_any([oldest], b"entry", vault.keyed_digest(later, b"entry"))
        assert vault.kept_subjects(tx, [SUBJECT, "case:other"]) == {SUBJECT}
        # Found by either number, once.
        assert vault.subjects_holding(tx, PersonalKind.MOBILE, "13811110002") == [SUBJECT]
        assert vault.subjects_holding(tx, PersonalKind.MOBILE, "13922223333") == [SUBJECT]
    reader = owner.reader()
    reader.prefetch([first, second])
    assert reader.clear(SUBJECT, first) == "13811110002"
    assert reader.clear(SUBJECT, second) == "13922223333"

    with owner.tx() as tx:
        assert vault.erase(tx, [SUBJECT], actor="office", reason="request", now_ms=1) == [SUBJECT]
        assert vault.kept_keys(tx, SUBJECT) == []
        assert vault.subjects_holding(tx, PersonalKind.MOBILE, "13922223333") == []
        assert [e["subject"] for e in vault.erasures(tx)] == [SUBJECT]  # once, not once a key
        assert tx.execute(text("SELECT count(*) FROM personal_index")).scalar() == 0
    reader = owner.reader()
    assert reader.clear(SUBJECT, first) == ERASED
    assert reader.clear(SUBJECT, second) == ERASED
    with owner.tx() as tx:  # new data after the erasure: a new key, one
        vault.seal(tx, SUBJECT, PersonalKind.MOBILE, "13811110002")
        assert len(vault.kept_keys(tx, SUBJECT)) == 1


def test_the_same_key_id_cannot_be_stored_twice(owner: Owner) -> None:
    with owner.tx() as tx:
        vault.seal(tx, SUBJECT, PersonalKind.MOBILE, "13811110002")
        key_id = vault.kept_keys(tx, SUBJECT)[0].key_id
    error = sqlite3.IntegrityError if owner.url.is_sqlite else sqlalchemy.exc.IntegrityError
    with pytest.raises(error):
        owner.second_key("case:TWO-2", key_id, created_at=1)


def oldest_ms(owner: Owner) -> int:
    with owner.tx() as tx:
        if isinstance(tx, sqlite3.Connection):
            return int(tx.execute("SELECT min(created_at) FROM personal_keys").fetchone()[0])
        return int(tx.execute(text("SELECT min(created_at) FROM personal_keys")).scalar_one())
