"""The throwaway PostgreSQL cluster as pytest fixtures (`tests.pgcluster` starts and stops it):
one cluster per session, started only when a test asks, a fresh database per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from spine.storeurl import StoreUrl
from tests.pgcluster import PgCluster, missing, throwaway_cluster

__all__ = ["PgCluster", "pg_cluster", "pg_database"]


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
