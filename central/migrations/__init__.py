"""Central's schema migrations (Alembic): what `hall central migrate` applies, in order.

On PostgreSQL the migrations create and change the tables; a store refuses to open
a database that is not at the newest revision, so a new release never runs on an
old schema. A SQLite file still gets its tables from the store as it opens (as it
always has); `hall central migrate` only records its revision there, so both
databases carry the same history from here on.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

HERE = Path(__file__).parent


class SchemaNotCurrent(RuntimeError):
    """The database is not at the newest revision: run `hall central migrate` first."""


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["connection"] = connection
    return config


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(connection: Connection) -> str | None:
    with connection.begin():
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection) -> str | None:
    """Bring the database to the newest revision, in one transaction; returns that revision."""
    with connection.begin():
        command.upgrade(alembic_config(connection), "head")
    return current(connection)


def require_current(connection: Connection) -> None:
    at, newest = current(connection), head()
    if at != newest:
        raise SchemaNotCurrent(
            f"central's database is at schema revision {at or 'none'}, this release needs {newest}: "
            "run `hall central migrate` (docs/operations.md, \"Central on PostgreSQL\")")
