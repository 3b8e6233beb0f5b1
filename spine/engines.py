"""A SQLAlchemy engine for a store URL: a SQLite file opened as every hallwatch store needs it,
or a PostgreSQL database through psycopg 3.

SQLite keeps its rules (`spine.sqlite.open_database`: WAL, `synchronous=FULL`) and its
one connection per file: a store holds its lock around every statement, as the raw
stores do, and a write transaction starts with BEGIN IMMEDIATE, so a second process's
writer waits at BEGIN instead of failing at its first write.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from spine.sqlite import open_database
from spine.statement import settle_before_statements
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
    engine = create_engine(url.secret_url(), pool_pre_ping=True, hide_parameters=True)
    event.listen(engine, "before_cursor_execute", settle_before_statements)
    event.listen(engine, "connect", _room_to_send)
    return engine


SEND_BUFFER = 1 << 20
"""Bytes the kernel takes from a PostgreSQL connection before the server has read them."""


def _room_to_send(driver: Any, _record: Any) -> None:
    """A batch's COPY (50 kB and more) goes to the kernel at once instead of trickling out as
    the server reads it: TCP's send buffer starts at 16 kB, so the client waited on the
    server's indexing while it had its own work to do (`spine.pgcopy`). Linux caps the
    request at `net.core.wmem_max`."""
    with socket.socket(fileno=os.dup(driver.fileno())) as connection:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
