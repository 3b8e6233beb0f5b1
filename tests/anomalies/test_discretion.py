"""Discretionary decisions: measured against the standards, a reason required outside the range, logged."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.cases.engine import Engine
from central.cases.importer import import_lines
from central.cases.store import CaseStore, EntryRejected
from central.discretion import Standards, StandardsError
from tests.cases.conftest import SettableClock, entry

FINE = {"case_id": "JQ-2026-0001", "by": "李四", "at": "2026-11-23T10:03", "matter": "违法建设罚款",
        "circumstance": "一般"}


@pytest.fixture
def store(engine: Engine) -> CaseStore:
    engine.store.submit(entry())
    return engine.store


def test_a_decision_within_its_range_is_logged_with_the_range_that_applied(store: CaseStore) -> None:
    store.decide({**FINE, "amount": 20000})
    [decision] = store.case("JQ-2026-0001").decisions
    assert (decision.matter, decision.circumstance, decision.amount, decision.within) == (
        "违法建设罚款", "一般", 20000, True)
    logged = store.history("JQ-2026-0001")[-1]
    assert logged.kind == "case.decided"
    assert logged.body["standard"] == {"unit": "元", "allowed": "10000–50000 元", "min": 10000.0,
                                       "max": 50000.0}


def test_a_decision_outside_its_range_needs_a_written_reason(store: CaseStore) -> None:
    with pytest.raises(EntryRejected, match=r"80000.0 is outside the standard \(10000–50000 元\): give the "
                                            "reason in writing"):
        store.decide({**FINE, "amount": 80000})
    store.decide({**FINE, "amount": 80000, "reason": "拒不整改，联系人 13812345678 当场确认"})
    [decision] = store.case("JQ-2026-0001").decisions
    assert decision.within is False
    reason = store.history("JQ-2026-0001")[-1].body["reason"]
    assert "13812345678" not in reason and "拒不整改" in reason


def test_a_decision_the_table_cannot_measure_is_refused_saying_what_it_knows(store: CaseStore) -> None:
    with pytest.raises(EntryRejected, match="has no discretionary standard"):
        store.decide({**FINE, "matter": "随意罚款", "amount": 1})
    with pytest.raises(EntryRejected, match=r"'特别严重' is not a circumstance of '违法建设罚款'; one of "):
        store.decide({**FINE, "circumstance": "特别严重", "amount": 1})
    with pytest.raises(EntryRejected, match="one of the two"):
        store.decide({**FINE})
    with pytest.raises(EntryRejected, match="decides an outcome, not an amount"):
        store.decide({**FINE, "matter": "食品经营违法罚款", "circumstance": "首次且及时改正", "amount": 100})
    store.decide({**FINE, "matter": "食品经营违法罚款", "circumstance": "首次且及时改正", "outcome": "警告"})
    assert store.case("JQ-2026-0001").decisions[0].outcome == "警告"


def test_a_resent_decision_is_stored_once_and_none_is_taken_after_completion_is_confirmed(
    store: CaseStore, case_clock: SettableClock
) -> None:
    store.decide({**FINE, "amount": 20000})
    assert store.decide({**FINE, "amount": 20000}).duplicate
    case_clock.set("2026-11-24T12:00")
    store.complete({"case_id": "JQ-2026-0001", "by": "李四", "at": "2026-11-24T10:00"})
    store.confirm({"case_id": "JQ-2026-0001", "by": "王科长", "at": "2026-11-24T11:00"})
    with pytest.raises(EntryRejected, match="closed"):
        store.decide({**FINE, "at": "2026-11-24T11:30", "amount": 30000})


def test_decisions_enter_with_a_history_import_too(engine: Engine) -> None:
    lines = [
        '{"case_id": "JQ-2026-0001", "by": "李四", "hall": "hall-centre", "unit": "自然资源局", '
        '"matter": "户外广告设置许可", "contact_name": "张三", "contact_phone": "13812345678", '
        '"officer_name": "李四", "officer_phone": "13900001111", "applied_at": "2026-11-23T09:30", '
        '"accepted_at": "2026-11-23T10:00", "limit": 5}',
        '{"type": "case.decided", "body": {"case_id": "JQ-2026-0001", "by": "李四", '
        '"at": "2026-11-23T10:01", '
        '"matter": "户外广告设置许可收费", "circumstance": "标准", "amount": 300}}',
        '{"type": "case.decided", "body": {"case_id": "JQ-2026-0001", "by": "李四", '
        '"at": "2026-11-23T10:02", '
        '"matter": "户外广告设置许可收费", "circumstance": "减免", "amount": 300}}',
    ]
    report = import_lines(engine.store, lines)
    assert report.stored == 2
    assert [p.line for p in report.rejected] == [3]
    assert "outside the standard (0–200 元)" in report.rejected[0].problems[0]


def test_an_operators_table_replaces_the_example_and_a_wrong_one_names_its_mistakes(tmp_path: Path) -> None:
    table = tmp_path / "standards.toml"
    table.write_text('[matters."占道经营罚款".circumstances]\n"一般" = { min = 50, max = 200 }\n',
                     encoding="utf-8")
    standards = Standards.load(table)
    assert standards.measure("占道经营罚款", "一般", 300, None).within is False
    table.write_text('[matters."占道经营罚款".circumstances]\n"一般" = { min = 500, max = 200 }\n'
                     '"严重" = { outcomes = ["警告"], max = 3 }\n', encoding="utf-8")
    with pytest.raises(StandardsError) as wrong:
        Standards.load(table)
    assert "一般: Value error, max is below min" in str(wrong.value)
    assert "严重: Value error, give a range (min, max) or a list of outcomes" in str(wrong.value)
