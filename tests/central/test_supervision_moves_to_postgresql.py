"""A central that kept the supervision office in `supervision.sqlite` moves to PostgreSQL: it refuses
to start while the database lacks the file's records, `hall central anomalies copy-office` copies
them (chains verified, notes still sealed and found by phone), and `hall central verify-events`
checks the office's logs on both databases, naming a row changed past the guard."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from central.anomalies.book import AnomalyBook
from central.anomalies.place import SupervisionPlace
from central.cli import central_commands
from central.projects import NewProject, ProjectDesk
from central.supervision_store import SupervisionLeftBehind, SupervisionStore
from spine.storeurl import StoreUrl
from tests.anomalies.rig import Rig
from tests.central.stores import migrated
from tests.pg import pg_cluster, pg_database  # noqa: F401

PHONE = "13812345678"
NOW = 1_795_500_000_000


def kept_in_the_file(root: Path) -> tuple[list[str], Rig]:
    """Two anomalies (one closed with a note holding a phone), a project with a case and a pass."""
    rig = Rig(root)
    rig.case("JQ-0001", accepted_at="2026-11-22T10:00", applied_at="2026-11-22T09:00")
    rig.case("JQ-0002", accepted_at="2026-11-20T21:00", applied_at="2026-11-20T20:00")
    raised = sorted(rig.tick())
    with rig.office.store.transaction() as tx:
        rig.book.close(tx, raised[0], "confirmed", None, f"已电话核实申请人 {PHONE}", "office-wang", NOW)
    rig.office.projects.create(NewProject("P-001", "新厂房", "王主任", 20, cases=("JQ-0001",)), "office-wang")
    rig.office.green_channel.issue("P-001", hall="hall-01", service="A", day="2026-11-24", window=None,
                                   actor="office-wang")
    return raised, rig


def config_for(root: Path, database: StoreUrl | None) -> Path:
    url = ("" if database is None else
           f'[database]\nurl = "postgresql://{database.user}@{database.host}:{database.port}/'
           f'{database.database}"\n')
    path = root / "central.toml"
    path.write_text(f'data_dir = "{root}"\n{url}')
    return path


def hall_central(*args: str) -> Result:
    return CliRunner().invoke(central_commands(), list(args))


def test_a_central_moving_to_postgresql_refuses_to_start_until_the_file_is_copied_and_then_has_it_all(
        tmp_path: Path, pg_database: StoreUrl) -> None:  # noqa: F811
    raised, rig = kept_in_the_file(tmp_path)
    in_file = rig.book.find()
    rig.close()
    database = migrated(pg_database)
    moved = Rig(tmp_path / "moved", database=database)  # central's stores on PostgreSQL, the office not yet
    moved.office.close()
    with pytest.raises(SupervisionLeftBehind, match="copy-office"):
        office_at(moved, left_behind=tmp_path / "supervision.sqlite")

    config = config_for(tmp_path, database)
    copied = hall_central("anomalies", "copy-office", "--config", str(config))
    assert copied.exit_code == 0, copied.output
    assert "ok: anomaly_log: verified in the database, head 3 as in the file" in copied.output
    assert "ok: project_log: verified in the database, head 3 as in the file" in copied.output

    moved.office = office_at(moved, left_behind=tmp_path / "supervision.sqlite")  # starts now
    book = moved.book
    assert book.find() == in_file
    assert "138****5678" in book.history(raised[0])[-1]["body"]["note"]
    assert SupervisionPlace(moved.office.store).holding(PHONE) >= {f"anomaly:{raised[0]}"}
    assert [p["id"] for p in moved.office.projects.all()] == ["P-001"]
    assert moved.office.green_channel.days_from("hall-01", "2026-11-01") == ["2026-11-24"]
    assert moved.tick() == [], "the watch reads on from the file's cursors: nothing judged twice"
    again = hall_central("anomalies", "copy-office", "--config", str(config))
    assert again.exit_code != 0 and "holds supervision records already" in again.output
    verified = hall_central("verify-events", "--config", str(config))
    assert verified.exit_code == 0, verified.output
    assert "ok: anomaly_log: 3 rows, head 3" in verified.output
    assert "ok: project_log: 3 rows, head 3" in verified.output
    moved.close()


def office_at(rig: Rig, left_behind: Path) -> object:
    from central.appointments import HallAppointments
    from central.supervision import open_office

    assert rig.database is not None
    return open_office(rig.settings, rig.database, events=rig.events, cases=rig.database,
                       calendar=rig.cases.calendar, ladder=rig.cases.rules.ladder,
                       grace_s=rig.cases.rules.watermark.grace_s, clock=rig.clock.wall_ms,
                       appointments=HallAppointments(lambda _hall, _command: None),
                       publish=lambda _kind, _data: None, left_behind=left_behind)


def test_verify_events_checks_the_offices_logs_in_supervision_sqlite_and_names_a_row_changed(
        tmp_path: Path) -> None:
    _raised, rig = kept_in_the_file(tmp_path)
    rig.close()
    config = config_for(tmp_path, None)
    verified = hall_central("verify-events", "--config", str(config))
    assert verified.exit_code == 0, verified.output
    assert "ok: anomaly_log: 3 rows, head 3" in verified.output
    assert "ok: project_log: 3 rows, head 3" in verified.output
    file = sqlite3.connect(tmp_path / "supervision.sqlite", isolation_level=None)
    file.execute("DROP TRIGGER anomaly_log_no_update")
    file.execute("UPDATE anomaly_log SET actor = 'someone else' WHERE seq = 2")
    file.close()
    changed = hall_central("verify-events", "--config", str(config))
    assert changed.exit_code == 1
    assert "FAILED: anomaly_log: first bad row 2" in changed.output


def test_an_empty_store_and_a_file_without_records_do_not_stop_central(
        tmp_path: Path, pg_database: StoreUrl) -> None:  # noqa: F811
    SupervisionStore(tmp_path / "supervision.sqlite").close()  # opened once, nothing kept
    store = SupervisionStore(migrated(pg_database))
    try:
        AnomalyBook(store)
        ProjectDesk(store, lambda _ids: [], calendar=None, ladder=None, clock=lambda: NOW)  # type: ignore[arg-type]
        from central.supervision_store import refuse_supervision_left_behind

        refuse_supervision_left_behind(tmp_path / "supervision.sqlite", store)
        refuse_supervision_left_behind(tmp_path / "absent.sqlite", store)
    finally:
        store.close()
