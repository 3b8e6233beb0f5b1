"""A SQLAlchemy engine for a store URL: a SQLite file opened as every hallwatch store needs it,
or a PostgreSQL database through psycopg 3.

SQLite keeps its rules (`spine.sqlite.open_database`: WAL, `synchronous=FULL`) and its
one connection per file: a store holds its lock around every statement, as the raw
stores do, and a write transaction starts with BEGIN IMMEDIATE, so a second process's
writer waits at BEGIN instead of failing at its first write.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from spine.sqlite import open_database
from spine.storeurl import StoreUrl


def open_engine(url: StoreUrl) -> Engine:
    if url.is_sqlite:
        assert url.path is not None
        path = url.path
        engine = create_engine("sqlite://", creator=lambda: open_database(path, page_size=None),
                               poolclass=StaticPool)

        @event.listens_for(engine, "begin")
        def begin_immediate(connection: Any) -> None:
            # The raw connection is in autocommit mode (`open_database`): the transaction is ours to open.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # The parameters of a failed statement are personal data or secrets as often as not: keep them
    # out of exceptions and logs.
    return create_engine(url.secret_url(), pool_pre_ping=True, hide_parameters=True)
