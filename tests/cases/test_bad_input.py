"""An operator's mistakes at the case commands are refused in plain words (issue #18: B1, B5, B6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from central.cases.calculator import parse_hold
from central.cases.timebase import parse_instant
from hallwatch.cli import main
from tests.cases.conftest import entry


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["central", *args], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.parametrize(("text", "says"), [
    ("yesterday", "'yesterday' is not a date or time: write 2026-11-23, 2026-11-23T10:00"),
    ("2026-02-30", "there is no day 30 in February 2026 (it has 28 days)"),
    ("2026-13-01", "there is no month 13"),
    ("2026-11-23T25:00", "hour 25 does not exist"),
])
def test_a_date_that_does_not_exist_is_refused_in_the_operators_words(text: str, says: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_instant(text)
    assert says in str(refused.value)
    assert "isoformat" not in str(refused.value) and "out of range" not in str(refused.value)


def test_the_deadline_calculator_names_the_bad_date() -> None:
    code, out = run("deadline", "--accepted", "2026-02-30T10:00", "--limit", "5")
    assert code != 0
    assert "there is no day 30 in February 2026" in out


def test_a_suspension_that_ends_before_it_starts_is_refused() -> None:
    code, out = run("deadline", "--accepted", "2026-11-23T10:00", "--limit", "5",
                    "--suspend", "2026-11-26..2026-11-24")
    assert code != 0
    assert "'2026-11-26..2026-11-24': the suspension ends before it starts" in out
    assert "suspended" not in out  # nothing was calculated with it


def test_an_empty_suspension_is_refused_with_how_to_write_a_whole_day() -> None:
    with pytest.raises(ValueError, match="is empty.*2026-11-26..2026-11-27"):
        parse_hold("2026-11-26..2026-11-26")
    assert parse_hold("2026-11-26..").end is None  # still on: no end to compare


def test_import_says_which_line_had_which_warning(tmp_path: Path) -> None:
    lines = tmp_path / "cases.jsonl"
    plausible = entry("JQ-2026-0001", applied_at="2026-11-20T09:00", accepted_at="2026-11-20T10:00")
    # Applied for four months before acceptance: stored, with the application-gap warning.
    doubtful = entry("JQ-2026-0002", applied_at="2026-07-01T09:00", accepted_at="2026-11-20T10:00")
    lines.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in (plausible, doubtful)) + "\n",
                     encoding="utf-8")

    code, out = run("import", "--db", str(tmp_path / "cases.sqlite"), "--at", "2026-11-20T12:00",
                    str(lines))

    assert code == 0, out
    assert "stored 2, duplicates 0, with warnings 1, rejected 0" in out
    warned = [line for line in out.splitlines() if "stored with warning" in line]
    assert len(warned) == 1 and warned[0].startswith("  line 2: stored with warning: "), out
    assert "application is more than 60 days before acceptance" in warned[0], warned[0]
