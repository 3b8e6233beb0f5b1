"""Anomaly records: append-only and chained; acknowledged, assigned, closed with a finding; counted."""

from __future__ import annotations

import sqlite3

import pytest

from central.anomalies.book import AnomalyError
from central.anomalies.table import AnomalyRules, RulesError
from spine.statement import Tx
from tests.anomalies.rig import Rig
from tests.cases.conftest import REFUSED

NOW = 1_795_000_000_000


def off_hours(rig: Rig, case: str = "JQ-0001") -> str:
    rig.case(case, accepted_at="2026-11-22T10:00", applied_at="2026-11-22T09:00")
    [anomaly] = rig.tick()
    return anomaly


def step(rig: Rig, action: str, anomaly: str, *args: object) -> None:
    with rig.office.store.transaction() as tx:
        getattr(rig.book, action)(tx, anomaly, *args)


def test_an_anomaly_is_acknowledged_assigned_and_closed_with_a_finding(rig: Rig) -> None:
    anomaly = off_hours(rig)
    assert rig.book.get(anomaly)["state"] == "open"
    step(rig, "acknowledge", anomaly, "office-wang", NOW)
    step(rig, "assign", anomaly, "自然资源局 张科长", "office-wang", NOW + 1, "请核对纸质材料")
    with pytest.raises(AnomalyError, match="needs its cause"):
        step(rig, "close", anomaly, "false_alarm", None, "日期录入错误", "office-wang", NOW + 2)
    step(rig, "close", anomaly, "false_alarm", "wrong_date", "受理日期录错，实为周一", "office-wang", NOW + 2)
    shown = rig.book.get(anomaly)
    assert (shown["state"], shown["finding"], shown["cause"], shown["assignee"]) == (
        "closed", "false_alarm", "wrong_date", "自然资源局 张科长")
    with pytest.raises(AnomalyError, match="already closed"):
        step(rig, "close", anomaly, "confirmed", None, "again", "office-wang", NOW + 3)
    assert [s["type"] for s in rig.book.history(anomaly)] == [
        "anomaly.raised", "anomaly.acknowledged", "anomaly.assigned", "anomaly.closed"]
    assert rig.book.verify()["ok"]


def test_an_anomaly_cannot_be_acknowledged_twice_nor_closed_without_saying_what_was_found(rig: Rig) -> None:
    anomaly = off_hours(rig)
    step(rig, "acknowledge", anomaly, "office-wang", NOW)
    with pytest.raises(AnomalyError, match="already acknowledged"):
        step(rig, "acknowledge", anomaly, "office-li", NOW)
    with pytest.raises(AnomalyError, match="say what was found"):
        step(rig, "close", anomaly, "confirmed", None, " ", "office-wang", NOW)


def test_a_phone_in_a_supervisors_note_is_kept_sealed_and_shown_masked(rig: Rig) -> None:
    anomaly = off_hours(rig)
    note = "已电话核实申请人 13812345678，确系周日受理"
    step(rig, "close", anomaly, "confirmed", None, note, "office", NOW)
    note = rig.book.history(anomaly)[-1]["body"]["note"]
    assert "13812345678" not in note and "138****5678" in note
    raw = rig.office.store.query("SELECT body FROM anomaly_log WHERE type = 'anomaly.closed'")[0][0]
    assert "13812345678" not in raw and "5678" not in raw


def sql(tx: Tx, text: str) -> None:
    """SQL as the database spells it, from someone at its console."""
    if isinstance(tx, sqlite3.Connection):
        tx.execute(text)
    else:
        tx.exec_driver_sql(text)


def test_the_anomaly_log_is_append_only_and_an_edit_behind_its_back_is_found(rig: Rig) -> None:
    anomaly = off_hours(rig)
    off_hours(rig, "JQ-0002")
    with pytest.raises(REFUSED, match="append-only"), rig.office.store.transaction() as tx:
        sql(tx, f"UPDATE anomaly_log SET body = '{{}}' WHERE subject = '{anomaly}'")
    with rig.office.store.transaction() as tx:  # someone goes around the triggers (the owner, on PostgreSQL)
        sql(tx, "DROP TRIGGER anomaly_log_no_update" if isinstance(tx, sqlite3.Connection)
            else "ALTER TABLE anomaly_log DISABLE TRIGGER anomaly_log_append_only")
        sql(tx, "UPDATE anomaly_log SET body = replace(body, 'Sun', 'Mon') WHERE seq = 1")
    report = rig.book.verify()
    assert not report["ok"] and report["first_bad"] == 1
    assert "changed after it was written" in report["problem"]


def test_a_correction_of_a_case_is_noted_on_its_open_anomalies(rig: Rig) -> None:
    accepted = rig.case("JQ-0001", accepted_at="2026-11-22T10:00", applied_at="2026-11-22T09:00")
    [anomaly] = rig.tick()
    rig.cases.correct({"case_id": "JQ-0001", "by": "李四", "corrects": accepted,
                       "changes": {"accepted_at": "2026-11-23T10:00"}, "reason": "受理日期录入错误"})
    rig.tick()
    assert rig.book.get(anomaly)["corrections"] == 1
    noted = rig.book.history(anomaly)[-1]
    assert noted["type"] == "anomaly.case_corrected"
    assert noted["body"]["changed"] == ["accepted_at"] and noted["body"]["corrected_type"] == "case.accepted"


def test_hits_are_counted_per_unit_and_rule_with_the_false_alarms_and_their_causes(rig: Rig) -> None:
    first = off_hours(rig, "JQ-0001")
    rig.case("JQ-0002", unit="人社局", accepted_at="2026-11-22T11:00", applied_at="2026-11-22T09:00")
    rig.case("JQ-0003", unit="人社局", accepted_at="2026-11-21T11:00", applied_at="2026-11-21T09:00")
    second, third = rig.tick()
    step(rig, "close", first, "false_alarm", "wrong_date", "录错", "office", NOW)
    step(rig, "close", second, "confirmed", None, "确有周日受理", "office", NOW)
    figures = {(row["unit"], row["rule"]): row for row in rig.book.statistics()}
    assert figures[("自然资源局", "accepted_off_hours")] == {
        "unit": "自然资源局", "rule": "accepted_off_hours", "raised": 1, "open": 0, "confirmed": 0,
        "false_alarms": 1, "wrong_date": 1, "completion_not_confirmed": 0}
    assert figures[("人社局", "accepted_off_hours")]["raised"] == 2
    assert figures[("人社局", "accepted_off_hours")]["open"] == 1
    assert rig.book.find(open_only=True) == [rig.book.get(third)]


def test_a_rule_table_with_mistakes_is_refused_naming_every_wrong_key() -> None:
    with pytest.raises(RulesError) as refused:
        AnomalyRules.from_mapping({"rules": {
            "first": {"detector": "accepted_off_hours", "title": "x", "risk": "severe", "notify": ["office"],
                  "explanation": "long enough words", "opens": "8 am"},
            "second": {"detector": "no_such_detector"},
            "third": {"detector": "rating_bursts", "title": "x", "risk": "low", "notify": [],
                  "explanation": "long enough words", "colour": "red"},
        }})
    text = str(refused.value)
    for wrong in ("rules.first.opens", "rules.first.risk",
                  "rules.second.detector: 'no_such_detector' is not a detector",
                  "rules.third.colour", "rules.third.notify"):
        assert wrong in text, wrong


def test_the_supervision_file_forgets_an_applicants_pseudonym_when_the_case_is_erased(rig: Rig) -> None:
    for n in range(1, 5):
        rig.case(f"JQ-000{n}", contact_phone="13811112222")
    rig.tick()
    place = rig.office.place
    assert place.holding("138-1111-2222") >= {f"case:JQ-000{n}" for n in range(1, 5)}
    erased = place.erase(["case:JQ-0001"], actor="office", reason="a citizen's request", now_ms=NOW)
    assert erased == ["case:JQ-0001"]
    assert "case:JQ-0001" not in place.holding("13811112222")
