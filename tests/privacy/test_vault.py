"""The vault on its own: a key per subject in the owner's file, sealed values that open only for their own
record, a keyed index that finds a number in any form, and erasure that leaves nothing to open."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.personal import Reader, vault
from central.personal.tokens import find_sealed, is_sealed
from contract.privacy import ERASED, PersonalKind
from spine.sqlite import Transaction, open_database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = open_database(tmp_path / "owner.sqlite")
    with Transaction(connection) as tx:
        vault.install(tx)
    yield connection
    connection.close()


def test_a_sealed_value_opens_for_its_record_and_reads_masked_elsewhere(db: sqlite3.Connection) -> None:
    with Transaction(db) as tx:
        token = vault.seal(tx, "case:A", PersonalKind.MOBILE, "138 1111 0002")
        note = vault.seal_text(tx, "case:A", "家属电话 138 1111 0002，身份证 11010119900307123X")
    assert is_sealed(token) and "1111" not in token
    assert "1111" not in note and note.startswith("家属电话 ⟦pd1:mobile:")
    reader = Reader(vault.reads(db))
    assert reader.clear("case:A", token) == "138 1111 0002"
    assert reader.masked("case:A", token, PersonalKind.MOBILE) == "138****0002"
    assert reader.masked("case:A", note) == "家属电话 138****0002，身份证 110***********123X"
    # Copied into another record's text, it does not open there.
    assert Reader(vault.reads(db)).clear("case:B", f"见 {token}") == f"见 {ERASED}"


def test_a_person_cannot_type_a_token(db: sqlite3.Connection) -> None:
    with Transaction(db) as tx:
        token = vault.seal(tx, "case:A", PersonalKind.MOBILE, "13811110002")
        typed = vault.seal_text(tx, "case:B", f"请看 {token}")
    assert list(find_sealed(typed)) == []


def test_text_without_personal_data_makes_no_key(db: sqlite3.Connection) -> None:
    with Transaction(db) as tx:
        assert vault.seal_text(tx, "complaint:X", "案件2026-000123于2026-03-04受理") == \
            "案件2026-000123于2026-03-04受理"
    assert vault.kept_subjects(vault.reads(db), ["complaint:X"]) == set()


def test_the_index_finds_a_number_in_any_form_and_erasure_forgets_it(db: sqlite3.Connection) -> None:
    with Transaction(db) as tx:
        vault.seal(tx, "case:A", PersonalKind.MOBILE, "13811110002")
        vault.seal_text(tx, "complaint:X", "电话 +86 138-1111-0002")
        vault.seal(tx, "case:B", PersonalKind.MOBILE, "13811110002", indexed=False)  # an officer's
        vault.seal(tx, "case:C", PersonalKind.MOBILE, "13922223333")
    read = vault.reads(db)
    found = vault.subjects_holding(read, PersonalKind.MOBILE, "１３８ １１１１ ０００２")
    assert found == ["case:A", "complaint:X"]
    with Transaction(db) as tx:
        erased = vault.erase(tx, ["case:A", "complaint:X", "case:unknown"], actor="office",
                             reason="a citizen's request", now_ms=1)
    assert erased == ["case:A", "complaint:X"]
    assert vault.subjects_holding(read, PersonalKind.MOBILE, "13811110002") == []
    assert vault.kept_subjects(read, ["case:A", "case:B", "case:C"]) == {"case:B", "case:C"}
    assert [e["subject"] for e in vault.erasures(read)] == ["complaint:X", "case:A"]
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM personal_erasures")


def test_an_erased_subject_reads_erased_and_new_data_gets_a_new_key(db: sqlite3.Connection) -> None:
    with Transaction(db) as tx:
        old = vault.seal(tx, "case:A", PersonalKind.NAME, "张三丰")
    with Transaction(db) as tx:
        vault.erase(tx, ["case:A"], actor="retention", reason="retention", now_ms=1)
    with Transaction(db) as tx:
        new = vault.seal(tx, "case:A", PersonalKind.NAME, "张三丰")
    reader = Reader(vault.reads(db))
    assert reader.masked("case:A", old, PersonalKind.NAME) == ERASED
    assert reader.masked("case:A", new, PersonalKind.NAME) == "张**"
