"""Phone numbers: kept in clear only in their own table, masked and digested in the chained log.

The log must be readable (and verifiable) by supervisors who should not see
citizens' numbers, so a log body carries `138****5678` and a keyed digest of
the number; the number itself lives in `case_personal`, by log seq, for the
SMS notifier, and can be erased there without breaking the chain.
"""

from __future__ import annotations

import hmac
import secrets
import sqlite3
from collections.abc import Mapping
from typing import Any

from contract.privacy import mask_phone

PHONE_FIELDS = ("contact_phone", "officer_phone")


class PersonalData:
    """The clear phone numbers of the case store, and how they are sealed for the log."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self._key = self._load_key()

    def _load_key(self) -> bytes:
        row = self.connection.execute(
            "SELECT value FROM case_meta WHERE key = 'personal_key'"
        ).fetchone()
        if row:
            return bytes.fromhex(row[0])
        key = secrets.token_bytes(32)
        self.connection.execute(
            "INSERT OR IGNORE INTO case_meta (key, value) VALUES ('personal_key', ?)", (key.hex(),)
        )
        row = self.connection.execute(
            "SELECT value FROM case_meta WHERE key = 'personal_key'"
        ).fetchone()
        return bytes.fromhex(row[0])

    def seal(self, values: dict[str, Any]) -> dict[str, str]:
        """Replace phones by their mask and keyed digest; return the clear values to keep aside."""
        clear: dict[str, str] = {}
        for name in PHONE_FIELDS:
            if name in values:
                digits = "".join(ch for ch in str(values[name]) if ch.isdigit() or ch == "+")
                clear[name] = digits
                values[name] = mask_phone(digits)
                values[f"{name}_hmac"] = hmac.new(self._key, digits.encode(), "sha256").hexdigest()
        return clear

    def keep(self, seq: int, clear: Mapping[str, str]) -> None:
        self.connection.executemany(
            "INSERT INTO case_personal (seq, field, value) VALUES (?, ?, ?)",
            [(seq, name, value) for name, value in clear.items()],
        )

    def contact_phone(self, case_id: str) -> str | None:
        """The clear contact phone, for the SMS notifier only; never shown or logged."""
        row = self.connection.execute(
            "SELECT p.value FROM case_personal p JOIN case_events e ON e.seq = p.seq"
            " WHERE e.case_id = ? AND p.field = 'contact_phone' ORDER BY p.seq DESC LIMIT 1",
            (case_id,),
        ).fetchone()
        return row[0] if row else None
