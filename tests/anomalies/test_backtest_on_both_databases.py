"""The back-test reads central's history where it is: a seeded history written the same way into
central's files and into a PostgreSQL database gives the same hits, rule by rule."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from central.anomalies.cli import anomalies_group
from spine.storeurl import StoreUrl
from tests.anomalies.rig import Rig, ms
from tests.anomalies.test_rules import rating
from tests.central.stores import migrated

OFFICERS = ("李四", "王五", "赵六")
APPLICANTS = ("13811112222", "13822223333", "13833334444", "13844445555")


def seeded_history(rig: Rig, seed: int = 17) -> None:
    """60 cases over two weeks (some accepted at night or on a Sunday, some confirmed by the officer
    who completed them, applicants coming back) and ratings at four windows, some in bursts."""
    rng = random.Random(seed)
    rig.at("2026-11-28T20:00")
    for n in range(60):
        day, hour = 14 + n % 14, rng.choice((8, 9, 10, 14, 16, 19, 21))
        officer = rng.choice(OFFICERS)
        case = f"JQ-{n:04d}"
        rig.case(case, accepted_at=f"2026-11-{day:02d}T{hour:02d}:10", applied_at=f"2026-11-{day:02d}T07:00",
                 contact_phone=rng.choice(APPLICANTS), officer_id=f"off-{officer}", officer_name=officer)
        if rng.random() < 0.7:
            rig.fact("case.completed", case, f"2026-11-{day:02d}T{hour:02d}:40", by=officer)
            confirmer = officer if rng.random() < 0.2 else "王科长"
            rig.fact("case.completion_confirmed", case, f"2026-11-{day:02d}T{hour:02d}:50", by=confirmer)
    start, events = ms("2026-11-23T10:00"), []
    for n in range(40):
        window = f"w0{n % 4}"
        grade = "very_satisfied" if n % 4 != 3 else rng.choice(("very_satisfied", "satisfied"))
        events.append(rating(window, grade, start + n * 10_000, n))
    rig.hall_events(events)


def backtest(rig: Rig) -> dict[str, Any]:
    where = ["--db", str(rig.database)] if rig.database else ["--data-dir", str(rig.root)]
    result = CliRunner().invoke(anomalies_group, ["backtest", "all", *where, "--json", "--show", "1000"])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    report.pop("seconds", None)
    return report


def test_the_back_test_on_postgresql_finds_what_it_finds_in_the_files(tmp_path: Path,
                                                                     pg_database: StoreUrl) -> None:
    files = Rig(tmp_path / "files")
    database = Rig(tmp_path / "database", database=migrated(pg_database))
    try:
        for rig in (files, database):
            seeded_history(rig)
        on_files, on_database = backtest(files), backtest(database)
    finally:
        files.close()
        database.close()
    assert on_database == on_files
    hits = {rule["rule"]: rule["hits"] for rule in on_files["rules"]}
    assert hits["accepted_off_hours"] > 0 and hits["self_confirmed"] > 0 and hits["rating_bursts"] > 0, hits
