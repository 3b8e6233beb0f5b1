"""The log of queries and forms sent to the public site: what its rate limits count, and what a
supervisor reads when someone tries case numbers one after another.

A client's address is kept only masked (`192.168.1.*`) and as a keyed digest
(the key stays in this file): counted, never shown. What was typed as a phone's
last digits is never kept. Rows older than `[public] attempts_kept_days` are deleted.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets

from central.projection import run_script
from central.store import CentralStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS public_attempts (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    client_key TEXT NOT NULL,
    client TEXT NOT NULL,
    subject TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS public_attempts_by_client ON public_attempts (client_key, kind, at);
CREATE INDEX IF NOT EXISTS public_attempts_by_subject ON public_attempts (subject, kind, at);
CREATE INDEX IF NOT EXISTS public_attempts_by_time ON public_attempts (at);
CREATE TABLE IF NOT EXISTS public_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

HOUR_MS = 3_600_000


def mask_address(address: str) -> str:
    """192.168.1.23 -> 192.168.1.*; an IPv6 address keeps its first three groups."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return "?"
    if parsed.version == 4:
        return ".".join(address.split(".")[:3] + ["*"])
    return ":".join(parsed.exploded.split(":")[:3] + ["*"])


class AttemptLog:
    def __init__(self, store: CentralStore) -> None:
        self.store = store
        with store.transaction() as tx:
            run_script(tx, SCHEMA)
            row = tx.execute("SELECT value FROM public_meta WHERE name = 'client_key'").fetchone()
            if row is None:
                row = (secrets.token_hex(32),)
                tx.execute("INSERT INTO public_meta (name, value) VALUES ('client_key', ?)", row)
        self._key = bytes.fromhex(row[0])

    def client_key(self, address: str) -> str:
        return hmac.new(self._key, address.encode(), "sha256").hexdigest()

    def by_client(self, kinds: tuple[str, ...], address: str, since_ms: int) -> int:
        marks = ", ".join("?" * len(kinds))
        return int(self.store.query(
            f"SELECT count(*) FROM public_attempts WHERE client_key = ? AND kind IN ({marks}) AND at >= ?",
            (self.client_key(address), *kinds, since_ms))[0][0])

    def by_subject(self, kind: str, subject: str, since_ms: int) -> int:
        return int(self.store.query(
            "SELECT count(*) FROM public_attempts WHERE subject = ? AND kind = ? AND at >= ?",
            (subject, kind, since_ms))[0][0])

    def record(self, kind: str, address: str, subject: str, outcome: str, now_ms: int) -> None:
        with self.store.transaction() as tx:
            tx.execute("INSERT INTO public_attempts (at, kind, client_key, client, subject, outcome) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       (now_ms, kind, self.client_key(address), mask_address(address), subject[:80],
                        outcome))

    def recent(self, kind: str, limit: int = 100) -> list[dict[str, object]]:
        """The latest attempts of a kind, as a supervisor reads them (addresses masked)."""
        return [{"at": at, "client": client, "subject": subject, "outcome": outcome}
                for at, client, subject, outcome in self.store.query(
                    "SELECT at, client, subject, outcome FROM public_attempts WHERE kind = ? "
                    "ORDER BY id DESC LIMIT ?", (kind, limit))]

    def forget_before(self, cutoff_ms: int) -> int:
        with self.store.transaction() as tx:
            return tx.execute("DELETE FROM public_attempts WHERE at < ?", (cutoff_ms,)).rowcount
