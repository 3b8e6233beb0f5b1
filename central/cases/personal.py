"""The personal data of the case store: sealed in its log, masked for readers, opened for the SMS sender.

The log must be readable and verifiable by supervisors who should not see
citizens' data, and a citizen's data must be erasable although the log never
changes. So a case's contact name and phones, and every phone or ID number in
its notes and correction reasons, are sealed with the case's own key
(`central.personal`) before the record is chained; the projection (`cases.file`)
carries the same tokens. Erasing the case's key (retention, or the citizen's
request) leaves `(erased)` everywhere and `verify` still passes.

The officer's phone is sealed with the case's key too, but not indexed: an
officer's work number must not make their cases answer a citizen's request.
Stores written before sealing kept clear phones in `case_personal` and a key
for phone digests in `case_meta`: the digests' key is deleted when such a
store is opened (its digests can no longer be linked to a number), and
erasing a case deletes its `case_personal` rows. Its statements are written once for
SQLite and PostgreSQL (`spine.statement`); the keys are in the vault's tables (`central.personal`).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, desc, select

from central.cases.tables import CASE_EVENTS, CASE_META, CASE_PERSONAL
from central.cases.views import CaseView, LoggedEvent
from central.chain import canonical_body
from central.personal import Reader, case_subject, vault
from contract.events.cases import CaseAccepted
from contract.privacy import PersonalKind, normalize_phone
from spine.statement import Statement, Tx

PERSONAL_FIELDS: Mapping[str, PersonalKind] = {
    "contact_name": PersonalKind.NAME,
    "contact_phone": PersonalKind.MOBILE,
    "officer_phone": PersonalKind.MOBILE,
}
TEXT_FIELDS = ("note", "reason")
"""Free text a person typed into a case fact: scanned, and what is found sealed in place."""
_NOT_INDEXED = frozenset({"officer_phone"})
_DIGEST = "p1"
_P, _E = CASE_PERSONAL.c, CASE_EVENTS.c
_RETIRE_DIGEST_KEY = Statement(lambda _dialect: CASE_META.delete().where(
    CASE_META.c.key == "personal_key"))
_LEGACY_PHONE = Statement(lambda _dialect: select(_P.value).join_from(
    CASE_PERSONAL, CASE_EVENTS, _E.seq == _P.seq).where(
    _E.case_id == bindparam("case_id"), _P.field == "contact_phone").order_by(desc(_P.seq)).limit(1))
_LEGACY_HOLDERS = Statement(lambda _dialect: select(_E.case_id).distinct().join_from(
    CASE_PERSONAL, CASE_EVENTS, _E.seq == _P.seq).where(_P.value == bindparam("phone")))
_FORGET_LEGACY = Statement(lambda _dialect: CASE_PERSONAL.delete().where(_P.seq.in_(
    select(_E.seq).where(_E.case_id == bindparam("case_id")).scalar_subquery())))


class PersonalData:
    """Seals a case's personal data as it is entered, and reads it back masked or (rarely) clear."""

    def __init__(self, connection: Tx) -> None:
        self.connection = connection
        self._batch: vault.SealingBatch | None = None
        if isinstance(connection, sqlite3.Connection):  # PostgreSQL: the migrations' tables
            connection.executescript(vault.SCHEMA)
        vault.secure_delete(connection)
        # Digests made with this key could be matched against every possible number: retire it.
        _RETIRE_DIGEST_KEY.run(connection)

    def read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """A `vault.Read`: plain SQL with `?` parameters (the erasure's retention reads).

        On PostgreSQL the `?` become the driver's `%s`: a bridge for callers written for
        SQLite's SQL (`central.erasure.places`), for SQL both databases speak and that holds
        no `%` of its own; new readers pass the connection (a `Source`) instead."""
        if isinstance(self.connection, sqlite3.Connection):
            return self.connection.execute(sql, params).fetchall()
        if "%" in sql:
            raise ValueError("a bridged read holds no % of its own: write it as a Statement")
        return list(self.connection.exec_driver_sql(sql.replace("?", "%s"), params).fetchall())

    def reader(self, read: vault.Source | None = None) -> Reader:
        """A reader for one answer, through `read` (another connection to the same store) or ours."""
        return Reader(read if read is not None else self.connection)

    # -- entering ------------------------------------------------------------------------------

    def sealer(self, case_id: str, *, batched: bool = False) -> vault.Sealer:
        """Seals for one case inside the store's write transaction: the key commits with the record.
        `batched` (an import): its new key and index rows are written at the transaction's end
        with every other case's (`flush`)."""
        if batched and self._batch is None:
            self._batch = vault.SealingBatch(self.connection)
        # Once a batch is open in this transaction, every sealer uses it: a key it made is not
        # stored yet, and a second key for the same case would be.
        return vault.Sealer(self.connection, case_subject(case_id), self._batch)

    def prefetch(self, case_ids: list[str]) -> None:
        """Read the keys of the cases an import's chunk names, with one statement per 512."""
        if self._batch is None:
            self._batch = vault.SealingBatch(self.connection)
        self._batch.prefetch(case_subject(case_id) for case_id in case_ids)

    def flush(self) -> None:
        """Write what a batched sealer queued (before the transaction commits)."""
        if self._batch is not None:
            self._batch.write()
        self._batch = None

    def forget(self) -> None:
        self._batch = None

    def seal_fields(self, case_id: str, values: dict[str, Any], sealer: vault.Sealer | None = None,
                    *, batched: bool = False) -> None:
        """Seal, in place, the personal fields and free text of an entry, a fact or a correction's
        changes."""
        sealer = sealer or self.sealer(case_id, batched=batched)
        for name, kind in PERSONAL_FIELDS.items():
            if isinstance(values.get(name), str) and values[name]:
                values[name] = sealer.value(kind, values[name], indexed=name not in _NOT_INDEXED)
        for name in TEXT_FIELDS:
            if isinstance(values.get(name), str) and values[name]:
                values[name] = sealer.text(values[name])

    def entry_digest(self, entry: CaseAccepted, sealer: vault.Sealer) -> str:
        """What tells a resent entry from a different one, without a digest of the phone that
        could be matched against every possible number: the personal part is digested with the
        case's key, and dies with it."""
        plain, personal = _split(entry)
        return f"{_DIGEST}:{plain}:{sealer.digest(personal)}"

    def same_entry(self, stored: str, entry: CaseAccepted) -> bool:
        """Whether `entry` is the one stored with digest `stored` (after an erasure, only its
        non-personal part can still be compared)."""
        if not stored.startswith(_DIGEST + ":"):  # a store written before sealing
            return stored == hashlib.sha256(entry.model_dump_json().encode()).hexdigest()
        _, stored_plain, stored_personal = stored.split(":")
        plain, personal = _split(entry)
        if plain != stored_plain:
            return False
        subject = case_subject(entry.case_id)
        # Any of its keys: a case moved into PostgreSQL keeps the file's key beside the one its
        # hall's events were sealed with there, and the entry was digested with the file's.
        keys = (self._batch.kept_keys(subject) if self._batch is not None
                else vault.kept_keys(self.connection, subject))
        return not keys or vault.made_by_any(keys, personal, stored_personal)

    # -- reading -------------------------------------------------------------------------------

    def masked_view(self, view: CaseView) -> CaseView:
        """A case's record as any reader may see it."""
        subject, reader = case_subject(view.case_id), self.reader()
        reader.prefetch([view.contact_name, view.contact_phone, view.officer_phone,
                         [hold.note for hold in view.holds]])
        return view.model_copy(update={
            **{name: reader.masked(subject, getattr(view, name), kind)
               for name, kind in PERSONAL_FIELDS.items()},
            "holds": [hold.model_copy(update={"note": reader.masked(subject, hold.note)})
                      for hold in view.holds],
        })

    def masked_event(self, event: LoggedEvent, reader: Reader | None = None) -> LoggedEvent:
        if event.case_id is None:
            return event
        reader = reader or self.reader()
        return event.model_copy(update={"body": reader.masked_body(case_subject(event.case_id), event.body)})

    def masked_fields(self, case_id: str, row: dict[str, Any], reader: Reader) -> dict[str, Any]:
        """A listing's row (plain dict) with its personal fields masked."""
        subject = case_subject(case_id)
        for name, kind in PERSONAL_FIELDS.items():
            if name in row:
                row[name] = reader.masked(subject, row[name], kind)
        return row

    def contact(self, case_id: str, contact_name: str, contact_phone: str) -> dict[str, str | None]:
        """The case's contact in clear, for the supervisor who calls back and the SMS sender only."""
        subject, reader = case_subject(case_id), self.reader()
        phone = reader.clear(subject, contact_phone)
        if phone is not None and "*" in phone:  # a store written before sealing: the clear number
            phone = self._legacy_phone(case_id)  # is kept aside, by log seq
        return {"contact_name": reader.clear(subject, contact_name), "contact_phone": phone}

    def _legacy_phone(self, case_id: str) -> str | None:
        row = _LEGACY_PHONE.run(self.connection, {"case_id": case_id}).fetchone()
        return str(row[0]) if row else None

    # -- erasing -------------------------------------------------------------------------------

    def cases_holding(self, phone: str) -> list[str]:
        """The cases whose sealed data holds this number (any form), and those of an older store
        that kept it in clear aside."""
        sealed = [subject.split(":", 1)[1] for subject in
                  vault.subjects_holding(self.connection, PersonalKind.MOBILE, phone)
                  if subject.startswith("case:")]
        legacy = [str(row[0]) for row in _LEGACY_HOLDERS.run(
            self.connection, {"phone": normalize_phone(phone)}).fetchall()]
        return sorted(set(sealed) | set(legacy))

    def erase(self, case_ids: list[str], *, actor: str, reason: str, now_ms: int) -> list[str]:
        """Erase the personal data of cases: their keys, and clear phones an older store kept aside.
        Runs inside the store's write transaction; returns the subjects erased."""
        erased = vault.erase(self.connection, [case_subject(c) for c in case_ids], actor=actor,
                             reason=reason, now_ms=now_ms)
        for case_id in case_ids:
            _FORGET_LEGACY.run(self.connection, {"case_id": case_id})
        return erased


def _split(entry: CaseAccepted) -> tuple[str, bytes]:
    data = entry.model_dump(mode="json")
    personal = {name: data.pop(name) for name in PERSONAL_FIELDS}
    return (hashlib.sha256(canonical_body(data).encode()).hexdigest(),
            canonical_body(personal).encode())
