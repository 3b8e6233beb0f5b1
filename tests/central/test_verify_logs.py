"""`hall central verify-events` checks the hash-chained logs kept in the event store's database (the
complaint log, the booking log, the rating follow-up log) on SQLite and on PostgreSQL, and names
the first row that no longer matches its chain: a row changed by someone who could get past the
append-only guard (the owner disabling the trigger on PostgreSQL, the trigger dropped on SQLite)
is found by anyone with read access."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from central.cli import central_commands
from central.complaints import ComplaintDesk
from central.complaints.desk import NewComplaint
from central.complaints.settings import ComplaintSettings
from central.deadlines import WorkingDays
from central.personal.events import SealingEventStore
from spine.clock import SimulatedClock
from spine.engines import open_engine
from spine.storeurl import StoreUrl
from tests.pg import pg_cluster, pg_database, store_url  # noqa: F401

HALL = "hall-01"
T0 = 1_795_399_200_000  # 2026-11-23 10:00 +08:00


@pytest.fixture
def config(store_url: StoreUrl, tmp_path: Path) -> Path:  # noqa: F811
    """central's TOML naming the test's store (a SQLite file is `<data_dir>/events.sqlite`)."""
    assert not store_url.is_sqlite or store_url.path == tmp_path / "events.sqlite"
    database = ("" if store_url.is_sqlite else
                f'[database]\nurl = "postgresql://{store_url.user}@{store_url.host}:{store_url.port}/'
                f'{store_url.database}"\n')
    path = tmp_path / "central.toml"
    path.write_text(f'data_dir = "{tmp_path}"\n{database}')
    return path


def _complaints(url: StoreUrl) -> None:
    """Three complaints, one answered: four rows of the complaint log."""
    store = SealingEventStore(url, SimulatedClock(wall_ms=T0))
    try:
        desk = ComplaintDesk(store, ComplaintSettings.model_validate({}), working_days=WorkingDays(),
                             send=lambda _hall, _command: None, recorders=lambda _hall: [])
        desk.install(store)
        received = [desk.receive(NewComplaint(hall=HALL, summary=f"排队太久 {n}"), actor="office")
                    for n in range(3)]
        desk.answer(received[0], "已整改", actor="市场监管局")
    finally:
        store.close()


def _tamper(url: StoreUrl, seq: int) -> None:
    """Change one row of the complaint log past its append-only guard, as only its owner could."""
    engine = open_engine(url)
    try:
        with engine.begin() as sql:
            if url.is_sqlite:
                triggers = sql.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                            "AND tbl_name = 'complaint_log'")).fetchall()
                for (trigger,) in triggers:
                    sql.execute(text(f"DROP TRIGGER {trigger}"))
            else:
                sql.execute(text("ALTER TABLE complaint_log DISABLE TRIGGER USER"))
            sql.execute(text("UPDATE complaint_log SET actor = 'someone else' WHERE seq = :seq"),
                        {"seq": seq})
            if not url.is_sqlite:
                sql.execute(text("ALTER TABLE complaint_log ENABLE TRIGGER USER"))
    finally:
        engine.dispose()


def _verify(config: Path) -> Result:
    return CliRunner().invoke(central_commands(), ["verify-events", "--config", str(config)])


def test_verify_events_checks_the_complaint_log_and_names_the_first_row_changed_past_its_guard(
        store_url: StoreUrl, config: Path) -> None:  # noqa: F811
    _complaints(store_url)

    intact = _verify(config)
    assert intact.exit_code == 0, intact.output
    assert "ok: complaint_log: 4 rows, head 4" in intact.output
    for log in ("booking_log", "rating_followup_log"):  # made by the migrations, or not yet on a file
        assert f"ok: {log}: " in intact.output

    _tamper(store_url, seq=2)
    tampered = _verify(config)
    assert tampered.exit_code == 1, tampered.output
    assert "FAILED: complaint_log: first bad row 2: " in tampered.output
    assert "ok: 0 events" in tampered.output  # the event log itself is untouched
