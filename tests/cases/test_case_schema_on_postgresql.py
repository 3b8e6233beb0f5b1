"""The case store's schema on PostgreSQL (migration 0006): added to a populated database, and
run by a role with only the grants docs/operations.md gives it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from central import migrations
from central.cases.engine import Engine
from central.cases.timebase import parse_instant as at
from spine.engines import open_engine
from spine.storeurl import StoreUrl
from tests.cases.conftest import entry, run_sql
from tests.central.stores import migrated


def test_revision_0006_adds_the_case_store_to_a_database_at_0004_and_keeps_its_events(
        pg_database: StoreUrl) -> None:
    engine = open_engine(pg_database)
    try:
        with engine.connect() as connection, connection.begin():
            command.upgrade(migrations.alembic_config(connection), "0004")
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO events (event_id, hall, device, seq, type, device_time, received_at, payload)"
                " VALUES ('e-1', 'hall-01', 'kiosk-01', 1, 'sim.counter', 1, 1, '{}')"))
        with engine.connect() as connection:
            assert migrations.upgrade(connection) == migrations.head()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM events")).scalar_one() == 1
            assert connection.execute(text("SELECT count(*) FROM case_events")).scalar_one() == 0
    finally:
        engine.dispose()
    cases = Engine.open(pg_database)
    try:
        cases.store.submit(entry(), now=at("2026-11-23T10:05"))
        assert [i.kind for i in cases.tick(at("2026-11-27T00:00")).issued] == ["yellow_light"]
        assert cases.store.verify().ok
    finally:
        cases.close()


def _case_grants(role: str, database: str) -> list[str]:
    """docs/operations.md's grants ("Roles and grants"): the event store's, the vault's, and
    revision 0006's for the case store."""
    return [
        f"CREATE ROLE {role} LOGIN",
        f'GRANT CONNECT ON DATABASE "{database}" TO {role}',
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT ON alembic_version TO {role}",
        f"GRANT SELECT, INSERT, DELETE ON personal_keys, personal_index TO {role}",
        f"GRANT SELECT, INSERT ON personal_meta, personal_erasures TO {role}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT ON case_events, case_issued TO {role}",
        f"GRANT SELECT, INSERT, UPDATE ON cases, case_sources TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON case_meta TO {role}",
        f"GRANT SELECT, DELETE ON case_personal TO {role}",
        f"GRANT SELECT, INSERT, UPDATE ON case_day_counts TO {role}",  # revision 0012's
        f"GRANT SELECT, INSERT, UPDATE ON case_open_counts TO {role}",  # revision 0013's
        f"GRANT SELECT, INSERT, UPDATE ON case_card_counts TO {role}",  # revision 0014's
        f"GRANT SELECT, INSERT, DELETE ON case_cards_pushed TO {role}",
    ]


def test_the_central_role_runs_the_case_engine_and_cannot_change_the_case_log(
        pg_cluster: Any, pg_database: StoreUrl) -> None:
    migrated(pg_database)
    role = f"central_{uuid.uuid4().hex[:8]}"
    for grant in _case_grants(role, pg_database.database or ""):
        pg_cluster.admin(grant, database=pg_database.database)
    cases = Engine.open(pg_cluster.url(pg_database.database, user=role),
                        clock=lambda: float(at("2026-11-23T10:05")))
    try:
        cases.store.submit(entry(), now=at("2026-11-23T10:05"))
        cases.store.suspend({"case_id": "JQ-2026-0001", "by": "李四", "at": "2026-11-24T10:00",
                             "reason": "hearing"}, now=at("2026-11-24T10:05"))
        cases.tick(at("2026-11-27T00:00"), watermarks={"hall:hall-01": at("2026-11-26T00:00")})
        erased = cases.store.personal.erase(["JQ-2026-0001"], actor="test", reason="request",
                                            now_ms=at("2026-11-27T00:00") * 1000)
        assert erased == ["case:JQ-2026-0001"]
        assert cases.store.verify().ok
        with pytest.raises(DBAPIError, match="permission denied"):
            run_sql(cases, "UPDATE case_events SET actor = 'x'")
    finally:
        cases.close()


def test_revision_0008_gives_the_screens_open_case_counts_their_partial_index(
        pg_database: StoreUrl) -> None:
    engine = open_engine(pg_database)
    try:
        with engine.connect() as connection:
            migrations.upgrade(connection)
        with engine.connect() as connection:
            definition = connection.execute(text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'cases_open_places'")).scalar_one()
    finally:
        engine.dispose()
    # The same index a SQLite case store gets from the screen (`sqltally.INDEX`).
    assert "(stage, hall, unit)" in definition and "WHERE (confirmed_at IS NULL)" in definition
