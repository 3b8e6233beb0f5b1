"""Warnings at entry: the trial's false alarms came from wrong dates."""

from __future__ import annotations

from typing import Any

import pytest

from central.cases.engine import Engine
from central.cases.store import EntryRejected
from tests.cases.conftest import entry


def codes(engine: Engine, **changes: Any) -> list[str]:
    result = engine.store.submit(entry(**changes))
    return [w.split(":")[0] for w in result.warnings]


def test_a_plausible_entry_has_no_warnings(engine: Engine) -> None:
    assert codes(engine) == []


def test_acceptance_before_application_is_flagged(engine: Engine) -> None:
    assert codes(engine, applied_at="2026-11-23T10:03") == ["accepted_before_applied"]


def test_acceptance_in_the_future_is_flagged(engine: Engine) -> None:
    assert codes(engine, applied_at="2026-11-24T09:00", accepted_at="2026-11-24T10:00") == [
        "accepted_in_future", "applied_in_future"]


def test_acceptance_on_a_holiday_or_weekend_is_flagged(engine: Engine) -> None:
    assert codes(engine, applied_at="2026-11-22T09:00", accepted_at="2026-11-22T10:00") == [
        "accepted_on_non_working_day"]


def test_acceptance_long_ago_is_flagged_as_a_late_entry(engine: Engine) -> None:
    assert codes(engine, applied_at="2026-11-03T09:00", accepted_at="2026-11-03T10:00") == [
        "entered_late"]


def test_a_limit_far_from_the_matters_usual_one_is_flagged(engine: Engine) -> None:
    # 户外广告设置许可 usually has 10 working days in the shipped rule table.
    assert codes(engine, limit=60) == ["unusual_limit"]
    assert codes(engine, case_id="JQ-2026-0002", limit=2, limit_unit="months") == [
        "unusual_limit"]


def test_warnings_are_stored_with_the_case(engine: Engine) -> None:
    engine.store.submit(entry(limit=60))
    assert engine.store.case("JQ-2026-0001").warnings[0].startswith("unusual_limit")


def test_strict_entry_refuses_a_case_with_warnings(engine: Engine) -> None:
    with pytest.raises(EntryRejected, match="unusual_limit"):
        engine.store.submit(entry(limit=60), strict=True)
    assert engine.store.open_count() == 0
