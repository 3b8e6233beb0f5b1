"""`hall central run` with its case store on PostgreSQL: the API over the real case engine, as
`tests/central/test_cases_engine_api.py` specifies it, on a central whose `[database]` is a
PostgreSQL database (its cases there too, not in a `cases.sqlite`).

The specification's tests are imported here and run against this module's `engine_central`:
one text of each test, run on both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from central.cases.database import CasesLeftBehind
from central.cases.move import move_cases
from central.cases.store import CaseStore
from central.cases.timebase import parse_instant
from central.database_settings import DatabaseSettings
from central.demo import seed_central_demo
from central.service import CentralService
from spine.broker.runner import MosquittoBroker
from spine.clock import SimulatedClock
from spine.storeurl import StoreUrl
from tests.cases.conftest import entry
from tests.central.conftest import MONDAY_MORNING, central_config
from tests.central.stores import migrated
from tests.central.test_cases_engine_api import (  # noqa: F401 - collected here, on PostgreSQL
    api,
    test_a_case_a_hall_sends_as_an_event_enters_the_records,
    test_a_case_history_verifies_and_keeps_phones_masked,
    test_a_tick_after_midnight_escalates_and_announces_it,
    test_cases_filter_by_unit_and_by_light,
    test_every_seeded_case_shows_the_light_it_was_seeded_for,
    test_the_articles_figures_count_cards_per_unit,
    test_the_case_engines_own_door_is_behind_the_roles,
    test_the_most_urgent_cases_come_first,
)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(wall_ms=MONDAY_MORNING)


@pytest.fixture
def engine_central(tmp_path: Path, broker: MosquittoBroker, clock: SimulatedClock,
                   pg_database: StoreUrl) -> Iterator[CentralService]:
    url = migrated(pg_database)
    config = central_config(tmp_path, broker.port, tick_s=3600).model_copy(  # the test ticks by hand
        update={"database": DatabaseSettings(url=url.secret_url())})
    service = CentralService(config, clock=clock)
    assert service.engine_cases is not None and service.engine_cases.engine.store.dialect == "postgresql"
    assert not config.cases_path.exists()
    service.start()
    seed_central_demo(service, other_halls=False)
    yield service
    service.stop()


def test_central_refuses_to_start_on_postgresql_beside_the_cases_it_kept_in_sqlite(
        tmp_path: Path, broker: MosquittoBroker, pg_database: StoreUrl) -> None:
    url = migrated(pg_database)
    config = central_config(tmp_path, broker.port).model_copy(
        update={"database": DatabaseSettings(url=url.secret_url())})
    kept = CaseStore.open(config.cases_path)  # the cases as central kept them before 0006
    kept.submit(entry("JQ-KEPT-0001"), now=parse_instant("2026-11-23T10:05"))
    kept.close()
    with pytest.raises(CasesLeftBehind, match="holds 1 cases"):
        CentralService(config)


def test_central_starts_on_postgresql_once_the_cases_are_moved_there(
        tmp_path: Path, broker: MosquittoBroker, pg_database: StoreUrl) -> None:
    url = migrated(pg_database)
    config = central_config(tmp_path, broker.port).model_copy(
        update={"database": DatabaseSettings(url=url.secret_url())})
    kept = CaseStore.open(config.cases_path)
    kept.submit(entry("JQ-KEPT-0001"), now=parse_instant("2026-11-23T10:05"))
    head = kept.head()
    kept.close()
    with pytest.raises(CasesLeftBehind):
        CentralService(config)
    move_cases(config.cases_path, url)
    service = CentralService(config)
    try:
        assert service.engine_cases is not None
        store = service.engine_cases.engine.store
        assert store.dialect == "postgresql" and store.file("JQ-KEPT-0001").case_id == "JQ-KEPT-0001"
        assert store.verify(head).ok
    finally:
        service.stop()
