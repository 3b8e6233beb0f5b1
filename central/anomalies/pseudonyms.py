"""An applicant's pseudonym: a keyed digest of the contact phone, for rules that count who comes back.

The key is the supervision file's own (made once, kept in its `personal_meta`),
so the digests match nothing outside this file. The phone is opened from the
case log's sealed token through the case store's keys, used, and forgotten;
an erased case has no phone to open, and no pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3

from central.anomalies.casereads import CaseReads
from central.personal import Reader, case_subject
from contract.privacy import ERASED, normalize_phone


def applicant_key(tx: sqlite3.Connection) -> bytes:
    """The file's pseudonym key, made on first use."""
    row = tx.execute("SELECT value FROM personal_meta WHERE name = 'applicant_key'").fetchone()
    if row is not None:
        return bytes(row[0])
    key = secrets.token_bytes(32)
    tx.execute("INSERT INTO personal_meta (name, value) VALUES ('applicant_key', ?)", (key,))
    return key


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
