"""Central's store on PostgreSQL for a test: a fresh database on the session's throwaway
cluster, migrated as `hall central migrate` leaves it (the `store_url` fixture runs a test
on it and on a SQLite file)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from central import migrations
from spine.engines import open_engine
from spine.storeurl import StoreUrl


def migrated(url: StoreUrl) -> StoreUrl:
    """The database at the newest schema, as `hall central migrate` leaves it."""
    engine = open_engine(url)
    with engine.connect() as connection:
        migrations.upgrade(connection)
    engine.dispose()
    return url


def migrated_again(url: StoreUrl, down_to: str, made: str) -> None:
    """A populated database taken down to revision `down_to` (asserting the table `made` is
    gone with it), then up to the newest: what a revision does to a database holding data."""
    engine = open_engine(url)
    try:
        with engine.connect() as connection, connection.begin():
            command.downgrade(migrations.alembic_config(connection), down_to)
        with engine.connect() as connection:
            assert connection.execute(text(f"SELECT to_regclass('{made}') IS NULL")).scalar_one()
        with engine.connect() as connection:
            migrations.upgrade(connection)
    finally:
        engine.dispose()
