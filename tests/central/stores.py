"""Central's store on PostgreSQL for a test: a fresh database on the session's throwaway
cluster, migrated as `hall central migrate` leaves it (the `store_url` fixture runs a test
on it and on a SQLite file)."""

from __future__ import annotations

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
