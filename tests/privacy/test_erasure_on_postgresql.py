"""`hall central privacy` on a central whose store is PostgreSQL: it reaches the cases where the
running central keeps them (the database), not a `cases.sqlite` in the data directory."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from central.cases.store import CaseStore
from central.cases.timebase import parse_instant
from contract.privacy import ERASED
from hallwatch.cli import main
from spine.storeurl import StoreUrl
from tests.central.stores import migrated
from tests.privacy.conftest import CITIZEN, NEIGHBOUR, case_entry

NOW = parse_instant("2026-11-23T10:05")


def _config(tmp_path: Path, url: StoreUrl) -> Path:
    path = tmp_path / "central.toml"
    data = tmp_path / "data"
    data.mkdir()
    # The throwaway cluster trusts its user: the URL needs no password file.
    path.write_text(f'data_dir = "{data}"\n[database]\nurl = "{url.secret_url()}"\n'
                    "[privacy]\nerase_after_days = 1\n")
    return path


def _erase(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["central", "privacy", "erase", "--config", str(config),
                                       *args, "--by", "office"], catch_exceptions=False)
    return result.exit_code, result.stdout


def test_an_operator_erases_a_citizens_cases_kept_in_postgresql(
        tmp_path: Path, pg_database: StoreUrl) -> None:
    url = migrated(pg_database)
    config = _config(tmp_path, url)
    store = CaseStore.open(url)
    store.submit(case_entry("PG-0001", "张三丰", CITIZEN), now=NOW)
    store.submit(case_entry("PG-0002", "李大山", NEIGHBOUR), now=NOW)
    store.submit(case_entry("PG-0003", "张三丰", CITIZEN), now=NOW)
    try:
        code, out = _erase(config, "--phone", "138-1111-0002")
        assert code == 0, out
        assert {"case:PG-0001", "case:PG-0003"} <= set(json.loads(out)["subjects"])
        assert store.contact_phone("PG-0001") == ERASED
        assert store.contact_phone("PG-0003") == ERASED
        assert store.contact_phone("PG-0002") == NEIGHBOUR

        code, out = _erase(config, "--case", "PG-0002")
        assert code == 0, out
        assert store.contact_phone("PG-0002") == ERASED
        assert not (tmp_path / "data" / "cases.sqlite").exists()  # nothing opened beside it
        assert store.verify().ok

        listed = CliRunner().invoke(main, ["central", "privacy", "erasures", "--config", str(config)])
        subjects = [json.loads(line)["subject"] for line in listed.stdout.splitlines()]
        # The database has one erasure log: each erasure listed once.
        assert sorted(subjects) == ["case:PG-0001", "case:PG-0002", "case:PG-0003"]
    finally:
        store.close()


def test_privacy_refuses_while_the_cases_still_wait_in_the_old_file(
        tmp_path: Path, pg_database: StoreUrl) -> None:
    url = migrated(pg_database)
    config = _config(tmp_path, url)
    kept = CaseStore.open(tmp_path / "data" / "cases.sqlite")
    kept.submit(case_entry("PG-KEPT", "张三丰", CITIZEN), now=NOW)
    kept.close()
    result = CliRunner().invoke(main, ["central", "privacy", "erase", "--config", str(config),
                                       "--phone", CITIZEN, "--by", "office"])
    assert result.exit_code == 1 and "move-cases" in result.output
