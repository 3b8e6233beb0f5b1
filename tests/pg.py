"""The throwaway PostgreSQL cluster as pytest fixtures (`tests.pgcluster` starts and stops it):
one cluster per session, started only when a test asks, a fresh database per test; and
`store_url`, which runs a test of central's store on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from spine.storeurl import StoreUrl
from tests.central.stores import migrated
from tests.pgcluster import PgCluster, missing, throwaway_cluster

__all__ = ["PgCluster", "pg_cluster", "pg_database", "pg_migrated_database", "store_url"]


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


_templates: dict[Path, str] = {}
"""Each cluster's migrated template database, by the cluster's directory. Per cluster, not a
session fixture: a module that imports `pg_cluster` from here gets a session cluster of its own."""


@pytest.fixture
def pg_migrated_database(pg_cluster: PgCluster) -> StoreUrl:
    """A fresh database at the newest schema, as `hall central migrate` leaves it: a copy of a
    template migrated once per cluster (CREATE DATABASE ... TEMPLATE copies files, where running
    every revision again cost each test about a second)."""
    template = _templates.get(pg_cluster.root)
    if template is None:
        template = f"migrated_{uuid.uuid4().hex[:12]}"
        pg_cluster.admin(f'CREATE DATABASE "{template}"')
        migrated(pg_cluster.url(template))  # disposes its engine: a template must have no one connected
        _templates[pg_cluster.root] = template
    name = f"t_{uuid.uuid4().hex[:12]}"
    pg_cluster.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return pg_cluster.url(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> StoreUrl:
    """The same test on a SQLite file and on PostgreSQL (migrated as `hall central migrate` leaves it)."""
    if request.param == "sqlite":
        return StoreUrl.sqlite_file(tmp_path / "events.sqlite")
    return request.getfixturevalue("pg_migrated_database")
