"""The throwaway PostgreSQL cluster as pytest fixtures (`tests.pgcluster` starts and stops it):
one cluster per session, started only when a test asks, a fresh database per test; and
`store_url`, which runs a test of central's store on a SQLite file and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spine.storeurl import StoreUrl
from tests.central.stores import migrated
from tests.pgcluster import PgCluster, missing, throwaway_cluster

__all__ = ["PgCluster", "pg_cluster", "pg_database", "store_url"]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    reason = missing()
    if reason:
        pytest.skip(reason)
    with throwaway_cluster() as cluster:
        yield cluster


@pytest.fixture
def pg_database(pg_cluster: PgCluster) -> StoreUrl:
    """A fresh, empty database on the session's cluster."""
    return pg_cluster.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> StoreUrl:
    """The same test on a SQLite file and on PostgreSQL (migrated as `hall central migrate` leaves it)."""
    if request.param == "sqlite":
        return StoreUrl.sqlite_file(tmp_path / "events.sqlite")
    return migrated(request.getfixturevalue("pg_database"))
