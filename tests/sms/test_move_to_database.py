"""A process's `sms.sqlite` moved into central's PostgreSQL database (`hall central sms
move-to-database`), and the start refused while the file holds what the database lacks.

The file is made by the platform itself, as a SQLite central leaves it: an opt-out (a 退订
reply), a sent, a failed and a queued message. After the move, a platform on PostgreSQL sends
nothing to the opted-out number and sends the queued message once."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from central.database_settings import DatabaseSettings
from central.service import CentralService
from central.sms.move import SmsLeftBehind, SmsMoveRefused, move_to_database, refuse_sms_left_behind
from central.sms.platform import SmsPlatform
from central.sms.senders.simulated import SimulatedSender
from hallwatch.cli import main
from spine.broker.runner import MosquittoBroker
from spine.clock import SimulatedClock
from spine.engines import open_engine
from spine.storeurl import StoreUrl
from tests.central.stores import migrated
from tests.citizens.conftest import citizens_config
from tests.pg import pg_cluster, pg_database  # noqa: F401 - fixtures
from tests.sms.conftest import CITIZEN, accepted_body, make_settings

OPTED_OUT = "13800001111"
TABLES = ("sms_messages", "sms_units", "sms_attempts", "sms_opt_outs", "sms_incoming", "sms_meta")


@pytest.fixture
def url(pg_database: StoreUrl) -> StoreUrl:  # noqa: F811
    return migrated(pg_database)


def counts(url: StoreUrl) -> dict[str, int]:
    engine = open_engine(url)
    try:
        with engine.connect() as sql:
            return {table: int(sql.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
                    for table in TABLES}
    finally:
        engine.dispose()


def file_counts(source: Path) -> dict[str, int]:
    with closing(sqlite3.connect(source)) as file:
        return {table: int(file.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                for table in TABLES if table != "sms_meta"}


def sqlite_central_file(root: Path, clock: SimulatedClock) -> Path:
    """The sms.sqlite a SQLite central leaves: an opt-out and its reply, a sent, a failed and a
    queued message."""
    sender = SimulatedSender()
    platform = SmsPlatform(make_settings(root), clock=clock, sender=sender)
    try:
        sender.reply(OPTED_OUT, "退订")
        platform.notify("evt-sent", "case.accepted", accepted_body("JQ-1"))
        platform.run_once()
        sender.fail_next(retryable=False)
        platform.notify("evt-failed", "case.accepted", accepted_body("JQ-2"))
        platform.run_once()
        platform.notify("evt-queued", "case.accepted", accepted_body("JQ-3"))
        assert platform.outbox.counts() == {"sent": 1, "failed": 1, "queued": 1}
        assert platform.outbox.opted_out(OPTED_OUT)
    finally:
        platform.stop()
    return root / "sms.sqlite"


def on_postgresql(url: StoreUrl, root: Path, clock: SimulatedClock, sender: SimulatedSender) -> SmsPlatform:
    return SmsPlatform(make_settings(root / "on-postgresql"), clock=clock, sender=sender, store=url,
                       process="central-pg")


def test_a_moved_file_keeps_its_opt_out_and_its_queued_message_goes_once(
        url: StoreUrl, tmp_path: Path, clock: SimulatedClock) -> None:
    source = sqlite_central_file(tmp_path, clock)
    before = source.read_bytes()
    with pytest.raises(SmsLeftBehind, match="1 opt-outs, 1 unsent messages.*move-to-database"):
        refuse_sms_left_behind(source, url)

    report = move_to_database(source, url)

    assert report.key == "adopted"
    assert report.added == report.in_file == file_counts(source)
    assert (report.added["sms_messages"], report.added["sms_opt_outs"], report.added["sms_incoming"]) \
        == (3, 1, 1)
    assert source.read_bytes() == before  # only read
    refuse_sms_left_behind(source, url)  # nothing left behind: central may start
    sender = SimulatedSender()
    platform = on_postgresql(url, tmp_path, clock, sender)
    try:
        assert platform.outbox.opted_out(OPTED_OUT)
        platform.notify("evt-new", "case.accepted", accepted_body("JQ-4", phone=OPTED_OUT))
        platform.run_once()
        platform.run_once()
        assert sender.texts_to(OPTED_OUT) == []
        assert [(u.message_id, u.phone) for u in sender.sent] == \
            [(platform.messages(fact_id="evt-queued")[0].id, CITIZEN)]  # the queued one, once
        assert platform.messages(fact_id="evt-new")[0].state == "opted_out"
        states = {m.fact_id: m.state for m in platform.messages()}
        assert states == {"evt-sent": "sent", "evt-failed": "failed", "evt-queued": "sent",
                          "evt-new": "opted_out"}
        failed = platform.messages(fact_id="evt-failed")[0]
        assert [outcome for _, outcome, _ in platform.outbox.attempts(failed.id)] == ["started", "failed"]
        assert [r["action"] for r in platform.outbox.incoming()] == ["opt_out"]
    finally:
        platform.stop()


def test_a_second_run_adds_nothing(url: StoreUrl, tmp_path: Path, clock: SimulatedClock) -> None:
    source = sqlite_central_file(tmp_path, clock)
    move_to_database(source, url)
    moved = counts(url)

    again = move_to_database(source, url)

    assert again.key == "same"
    assert set(again.added.values()) == {0}
    assert again.already == again.in_file
    assert counts(url) == moved


def test_a_database_keyed_otherwise_and_holding_messages_is_refused_and_left_as_it_was(
        url: StoreUrl, tmp_path: Path, clock: SimulatedClock) -> None:
    source = sqlite_central_file(tmp_path, clock)
    platform = on_postgresql(url, tmp_path, clock, SimulatedSender())  # makes the database's own key
    platform.notify("evt-pg", "case.accepted", accepted_body("JQ-9"))
    platform.stop()
    held = counts(url)

    with pytest.raises(SmsMoveRefused, match="different keys.*cannot be re-keyed"):
        move_to_database(source, url)

    assert counts(url) == held
    with pytest.raises(SmsLeftBehind):  # and central still does not start beside the file
        refuse_sms_left_behind(source, url)


def test_an_empty_outbox_keyed_by_a_process_that_started_takes_the_files_key(
        url: StoreUrl, tmp_path: Path, clock: SimulatedClock) -> None:
    source = sqlite_central_file(tmp_path, clock)
    on_postgresql(url, tmp_path, clock, SimulatedSender()).stop()  # a key, nothing keyed by it

    assert move_to_database(source, url).key == "adopted"

    platform = on_postgresql(url, tmp_path, clock, SimulatedSender())
    try:
        assert platform.outbox.opted_out(OPTED_OUT)
    finally:
        platform.stop()


def test_hall_central_sms_move_to_database_moves_and_renames_the_file(
        url: StoreUrl, tmp_path: Path, clock: SimulatedClock) -> None:
    data_dir = tmp_path / "central"
    data_dir.mkdir()
    made = sqlite_central_file(tmp_path / "made", clock)
    for name in ("sms.sqlite", "sms.sqlite-wal", "sms.sqlite-shm"):
        if (made.parent / name).exists():
            shutil.copy(made.parent / name, data_dir / name)
    secret = tmp_path / "db.password"
    secret.write_text("not-needed-with-trust\n")
    config = tmp_path / "central.toml"
    config.write_text(f'data_dir = "{data_dir}"\n[database]\n'
                      f'url = "postgresql://{url.user}@{url.host}:{url.port}/{url.database}"\n'
                      f'password_file = "{secret}"\n')

    moved = CliRunner().invoke(main, ["central", "sms", "move-to-database", "--config", str(config),
                                      "--rename"])

    assert moved.exit_code == 0, moved.output
    assert "sms_opt_outs: 1 in the file, 1 added, 0 already there" in moved.output
    assert "not-needed-with-trust" not in moved.output
    assert not (data_dir / "sms.sqlite").exists()
    assert (data_dir / "sms.sqlite.moved").exists()
    refuse_sms_left_behind(data_dir / "sms.sqlite", url)
    again = CliRunner().invoke(main, ["central", "sms", "move-to-database", "--config", str(config),
                                      "--from", str(data_dir / "sms.sqlite.moved")])
    assert again.exit_code == 0, again.output
    assert "sms_messages: 3 in the file, 0 added, 3 already there" in again.output


def test_central_on_postgresql_with_sms_refuses_to_start_beside_the_file_until_it_is_moved(
        tmp_path: Path, broker: MosquittoBroker, url: StoreUrl, clock: SimulatedClock) -> None:
    config = citizens_config(tmp_path, broker.port).model_copy(
        update={"database": DatabaseSettings(url=url.secret_url())})
    source = sqlite_central_file(config.data_dir, clock)
    assert source == config.sms_settings.store

    with pytest.raises(SmsLeftBehind, match="1 opt-outs.*hall central sms move-to-database"):
        CentralService(config, clock=clock)
    assert counts(url)["sms_meta"] == 0  # refused before the outbox made a key of its own

    move_to_database(source, url)
    service = CentralService(config, clock=clock)
    try:
        assert service.citizens.sms is not None and service.citizens.sms.outbox.opted_out(OPTED_OUT)
    finally:
        service.stop()
