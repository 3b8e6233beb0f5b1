"""An applicant's pseudonym: a keyed digest of the contact phone, for rules that count who comes back.

The key is the supervision office's own (made once, kept in its `personal_meta`:
in `supervision.sqlite`, or central's PostgreSQL database, where every central
process reads the same one), so the digests match nothing outside the office. The phone is opened from the
case log's sealed token through the case store's keys, used, and forgotten;
an erased case has no phone to open, and no pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import bindparam, select

from central.anomalies.casereads import CaseReads
from central.personal import Reader, case_subject
from central.personal.vault import PERSONAL_META
from contract.privacy import ERASED, normalize_phone
from spine.statement import Statement, Tx, insert_for

_KEY = Statement(lambda _dialect: select(PERSONAL_META.c.value).where(
    PERSONAL_META.c.name == "applicant_key"))
_NEW_KEY = Statement(lambda dialect: insert_for(dialect, PERSONAL_META).values(
    name="applicant_key", value=bindparam("value")).on_conflict_do_nothing())


def applicant_key(tx: Tx) -> bytes:
    """The office's pseudonym key, made on first use. Two central processes starting together
    on one database both offer one; the first committed is kept (the other's insert waits for
    it on the primary key and does nothing), and both read that one back."""
    row = _KEY.run(tx).fetchone()
    if row is not None:
        return bytes(row[0])
    _NEW_KEY.run(tx, {"value": secrets.token_bytes(32)})
    return bytes(_KEY.run(tx).fetchone()[0])


class Pseudonyms:
    def __init__(self, key: bytes, cases: CaseReads | None) -> None:
        self.key = key
        self.cases = cases
        """The case store (either database), whose keys open its sealed phones; None: bodies are clear."""

    def __call__(self, case_id: str, phone: str | None) -> str | None:
        if not phone:
            return None
        clear = (self.cases.read(lambda tx: Reader(tx).clear(case_subject(case_id), phone))
                 if self.cases is not None else phone)
        digits = normalize_phone(clear) if clear and clear != ERASED else ""
        if len(digits) < 7:
            return None
        return hmac.new(self.key, digits.encode(), hashlib.sha256).hexdigest()[:32]
