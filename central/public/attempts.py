"""The log of queries and forms sent to the public site: what its rate limits count, and what a
supervisor reads when someone tries case numbers one after another.

A client's address is kept only masked (`192.168.1.*`) and as a keyed digest
(the key stays in this file): counted, never shown. What was typed as a phone's
last digits is never kept. Rows older than `[public] attempts_kept_days` are deleted.

Its statements are written once for SQLite and PostgreSQL (`spine.statement`); on
PostgreSQL its tables are made by `central/migrations` (revision 0004).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    MetaData,
    Table,
    Text,
    bindparam,
    delete,
    func,
    literal,
    select,
)

from central.projection import run_script
from central.reads import built
from central.store import CentralStore
from spine.statement import Statement, insert_for

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

ATTEMPT_TABLES = MetaData()
PUBLIC_ATTEMPTS = Table(
    "public_attempts", ATTEMPT_TABLES,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("client_key", Text, nullable=False),
    Column("client", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Index("public_attempts_by_client", "client_key", "kind", "at"),
    Index("public_attempts_by_subject", "subject", "kind", "at"),
    Index("public_attempts_by_time", "at"),
)
PUBLIC_META = Table(
    "public_meta", ATTEMPT_TABLES,
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),
)
"""`SCHEMA` in SQLAlchemy Core: the statements' tables (made on PostgreSQL by migration 0004)."""
_A, _M = PUBLIC_ATTEMPTS.c, PUBLIC_META.c

_CLIENT_KEY = Statement(lambda _dialect: select(_M.value).where(_M.name == "client_key"))
# Another process may have made the key first: the first one made is everyone's.
_NEW_CLIENT_KEY = Statement(lambda dialect: insert_for(dialect, PUBLIC_META).values(
    name="client_key", value=bindparam("value")).on_conflict_do_nothing(index_elements=["name"]))
_BY_SUBJECT = Statement(lambda _dialect: select(func.count()).where(
    _A.subject == bindparam("subject"), _A.kind == bindparam("kind"), _A.at >= bindparam("since")))
_RECORD = Statement(lambda _dialect: PUBLIC_ATTEMPTS.insert().values(
    {name: bindparam(name) for name in ("at", "kind", "client_key", "client", "subject", "outcome")}))
_RECENT = Statement(lambda _dialect: select(_A.at, _A.client, _A.subject, _A.outcome).where(
    _A.kind == bindparam("kind")).order_by(_A.id.desc()).limit(bindparam("limit")))
_FORGET = Statement(lambda _dialect: delete(PUBLIC_ATTEMPTS).where(_A.at < bindparam("cutoff")))

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
        if store.url.is_sqlite:  # on PostgreSQL the tables are the migrations'
            with store.transaction() as tx:
                run_script(tx, SCHEMA)
        with store.statements() as tx:
            _NEW_CLIENT_KEY.run(tx, {"value": secrets.token_hex(32)})
            (key,) = _CLIENT_KEY.run(tx).fetchone()
        self._key = bytes.fromhex(key)

    def client_key(self, address: str) -> str:
        return hmac.new(self._key, address.encode(), "sha256").hexdigest()

    def by_client(self, kinds: tuple[str, ...], address: str, since_ms: int) -> int:
        # A handful of kinds, named by the caller: a statement for this call alone.
        query = select(func.count()).where(_A.client_key == self.client_key(address),
                                           _A.kind.in_([literal(kind) for kind in kinds]), _A.at >= since_ms)
        return self._count(built(query), {})

    def by_subject(self, kind: str, subject: str, since_ms: int) -> int:
        return self._count(_BY_SUBJECT, {"subject": subject, "kind": kind, "since": since_ms})

    def _count(self, statement: Statement, params: dict[str, Any]) -> int:
        return int(self.store.read(lambda tx: statement.run(tx, params).fetchone()[0]))

    def record(self, kind: str, address: str, subject: str, outcome: str, now_ms: int) -> None:
        with self.store.statements() as tx:
            _RECORD.run(tx, {"at": now_ms, "kind": kind, "client_key": self.client_key(address),
                             "client": mask_address(address), "subject": subject[:80], "outcome": outcome})

    def recent(self, kind: str, limit: int = 100) -> list[dict[str, object]]:
        """The latest attempts of a kind, as a supervisor reads them (addresses masked)."""
        found = self.store.read(lambda tx: _RECENT.run(tx, {"kind": kind, "limit": limit}).fetchall())
        return [{"at": at, "client": client, "subject": subject, "outcome": outcome}
                for at, client, subject, outcome in found]

    def forget_before(self, cutoff_ms: int) -> int:
        with self.store.statements() as tx:
            return _FORGET.run(tx, {"cutoff": cutoff_ms}).rowcount
