"""`hall central ...` case commands, driven as an operator would."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text

from hallwatch.cli import main
from spine.engines import open_engine
from spine.storeurl import StoreUrl
from tests.cases.conftest import entry
from tests.central.stores import migrated


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["central", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_deadline_calculator_answers_in_json() -> None:
    code, out = run("deadline", "--accepted", "2026-02-13T16:00", "--limit", "1",
                    "--at", "2026-02-20T12:00", "--json")
    answer = json.loads(out)
    assert code == 0
    assert (answer["due_day"], answer["stage_at"]) == ("2026-02-14", "red_light")
    assert answer["stages"]["yellow_card"] == "2026-02-24T00:00:00+08:00"


def test_deadline_calculator_takes_suspensions() -> None:
    code, out = run("deadline", "--accepted", "2026-11-23T10:00", "--limit", "5",
                    "--suspend", "2026-11-24T15:00..2026-11-26T09:00",
                    "--at", "2026-12-02T10:00", "--json")
    assert json.loads(out)["due_day"] == "2026-12-02"


def test_import_then_verify_then_catch_an_edit(tmp_path: Path) -> None:
    db = tmp_path / "cases.sqlite"
    lines = tmp_path / "cases.jsonl"
    lines.write_text(
        "\n".join([
            json.dumps(entry("JQ-2026-0001", applied_at="2026-11-20T09:00",
                             accepted_at="2026-11-20T10:00"), ensure_ascii=False),
            json.dumps({"type": "case.suspended", "body": {
                "case_id": "JQ-2026-0001", "by": "李四", "at": "2026-11-24T10:00",
                "reason": "hearing"}}),
            "{not json",
        ]) + "\n",
        encoding="utf-8",
    )
    code, out = run("import", "--db", str(db), str(lines))
    assert code == 1
    assert "stored 2" in out and "line 3" in out
    head_file = tmp_path / "head.json"
    assert run("head", "--db", str(db), "--out", str(head_file))[0] == 0
    code, out = run("verify", "--db", str(db), "--head", str(head_file))
    assert code == 0 and out.startswith("ok:")

    connection = sqlite3.connect(db)
    connection.execute("DROP TRIGGER case_events_no_update")
    connection.execute("UPDATE case_events SET actor = 'someone else' WHERE kind = 'case.suspended'")
    seq = connection.execute("SELECT seq FROM case_events WHERE kind = 'case.suspended'").fetchone()
    connection.commit()
    connection.close()
    code, out = run("verify", "--db", str(db))
    assert code == 1
    assert f"first bad record: {seq[0]}" in out


def test_calendar_add_refuses_a_bad_file_and_installs_a_good_one(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('year = 2027\nholidays = ["2027-02-30"]\n', encoding="utf-8")
    db, directory = str(tmp_path / "c.sqlite"), str(tmp_path / "calendar")
    code, out = run("calendar", "add", "--db", db, "--calendar-dir", directory, str(bad))
    assert code != 0 and "2027-02-30" in out
    good = tmp_path / "good.toml"
    good.write_text('year = 2027\nholidays = ["2027-01-01"]\n', encoding="utf-8")
    code, out = run("calendar", "add", "--db", db, "--calendar-dir", directory, str(good))
    assert code == 0 and (tmp_path / "calendar" / "2027.toml").exists()


def test_import_then_verify_then_catch_an_edit_on_postgresql(
        tmp_path: Path, pg_database: StoreUrl) -> None:
    url = migrated(pg_database)
    db = url.secret_url()  # the throwaway cluster trusts its user: no password in it
    lines = tmp_path / "cases.jsonl"
    lines.write_text(json.dumps(entry("JQ-2026-0001", applied_at="2026-11-20T09:00",
                                      accepted_at="2026-11-20T10:00"), ensure_ascii=False) + "\n",
                     encoding="utf-8")
    code, out = run("import", "--db", db, str(lines))
    assert code == 0 and "stored 1" in out
    head_file = tmp_path / "head.json"
    assert run("head", "--db", db, "--out", str(head_file))[0] == 0
    code, out = run("verify", "--db", db, "--head", str(head_file))
    # The answer is the last line (the schema check before it may log its own).
    assert code == 0 and out.splitlines()[-1].startswith("ok:")

    # An insider with the owner's role: the trigger off, a record edited.
    engine = open_engine(url)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE case_events DISABLE TRIGGER case_events_append_only"))
        seq = connection.execute(text(
            "UPDATE case_events SET actor = 'someone else' WHERE kind = 'case.accepted' RETURNING seq"
        )).scalar_one()
    engine.dispose()
    code, out = run("verify", "--db", db)
    assert code == 1
    assert f"first bad record: {seq}" in out
