"""The back-test: a rule over history says how many hits it would have raised, and raises nothing."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from central.anomalies.backtest import run_backtest
from central.anomalies.cli import anomalies_group
from central.anomalies.synthetic import synthetic_year
from central.anomalies.table import default_rules
from central.cases.calendar import load_calendar
from central.cases.rules import default_rules as case_rules
from central.cases.synthetic import HistoryShape
from tests.anomalies.rig import Rig

SHAPE = HistoryShape()
"""The seed's year: 51,055 cases over 8 halls and 30 units (`bench.anomalies` prints its figures)."""


def test_the_seeds_year_finds_every_planted_irregularity_and_no_rule_fires_on_everything() -> None:
    ladder = case_rules().ladder
    calendar = load_calendar(None)
    year = synthetic_year(SHAPE, calendar, ladder)
    report = run_backtest(list(default_rules()), year.facts, cases=year.cases, calendar=calendar,
                          ladder=ladder)
    assert report.facts == len(year.facts) > 2 * SHAPE.cases
    found = {result.rule.name: result for result in report.results}
    for rule, planted in year.planted.items():
        hits = found[rule].hits
        keys = {hit.key if rule == "officer_applicant_pairs" else hit.case_id for hit in hits}
        assert planted <= keys, f"{rule} missed {planted - keys}"
        if rule != "suspension_near_deadline":  # a legal suspension may fall near the light by chance
            assert keys == planted, f"{rule} also hit {keys - planted}"
    assert set(year.planted) == {"self_confirmed", "accepted_off_hours", "repeated_suspensions",
                                 "suspension_near_deadline", "deadline_moved", "officer_applicant_pairs",
                                 "decision_out_of_range"}
    for result in report.results:  # a rule that fires on everything is what the office must never see
        assert len(result.hits) <= SHAPE.cases // 1000, result.rule.name
    early = found["deadline_moved"].facts - len(year.planted["deadline_moved"])
    assert early > 0, "corrections made while the light was blue are in the year, and raised nothing"


def live_history(rig: Rig) -> None:
    rig.case("JQ-0001", accepted_at="2026-11-22T10:00", applied_at="2026-11-22T09:00")
    rig.case("JQ-0002", accepted_at="2026-11-20T21:00", applied_at="2026-11-20T20:00")
    rig.case("JQ-0003")
    rig.at("2026-11-24T12:00")
    rig.fact("case.completed", "JQ-0003", "2026-11-24T10:00")
    rig.fact("case.completion_confirmed", "JQ-0003", "2026-11-24T11:00")


def history_of(rig: Rig) -> list[str]:
    """Where the back-test reads central's history: the data directory, or the PostgreSQL database."""
    return ["--db", str(rig.database)] if rig.database else ["--data-dir", str(rig.root)]


def test_the_back_test_of_a_stores_history_counts_what_the_live_rules_raised(rig: Rig) -> None:
    live_history(rig)
    rig.tick()
    raised = {rule: len(rig.hits(rule)) for rule in ("accepted_off_hours", "self_confirmed")}
    assert raised == {"accepted_off_hours": 2, "self_confirmed": 1}
    before = rig.book.count()
    result = CliRunner().invoke(anomalies_group,
                                ["backtest", "all", *history_of(rig), "--show", "5"])
    assert result.exit_code == 0, result.output
    assert "accepted_off_hours (非工作时间受理, medium): 2 hits from 3 facts of its kinds" in result.output
    assert "self_confirmed (自办自核, high): 1 hits" in result.output
    assert "case JQ-0001 accepted on a non-working day (Sun 2026-11-22 10:00)" in result.output
    assert rig.book.count() == before, "a back-test records nothing"


def test_a_back_test_from_a_date_and_of_a_rule_table_being_tried(rig: Rig, tmp_path: Path) -> None:
    live_history(rig)
    since = CliRunner().invoke(anomalies_group, ["backtest", "accepted_off_hours", *history_of(rig),
                                                 "--since", "2026-11-21", "--json"])
    assert since.exit_code == 0, since.output
    assert '"hits": 1' in since.output and "JQ-0001" in since.output and "JQ-0002" not in since.output
    later = tmp_path / "later.toml"
    from central.anomalies.table import DEFAULT_RULES

    text = DEFAULT_RULES.read_text(encoding="utf-8")
    later.write_text(text.replace('closes = "18:00"', 'closes = "22:00"'), encoding="utf-8")
    tried = CliRunner().invoke(anomalies_group, ["backtest", "accepted_off_hours", *history_of(rig),
                                                 "--rules", str(later)])
    assert "accepted_off_hours (非工作时间受理, medium): 1 hits" in tried.output
    unknown = CliRunner().invoke(anomalies_group, ["backtest", "no_such_rule", *history_of(rig)])
    assert unknown.exit_code != 0 and "no rule 'no_such_rule'" in unknown.output


def test_the_rule_table_is_listed_with_its_explanations() -> None:
    result = CliRunner().invoke(anomalies_group, ["rules"])
    assert result.exit_code == 0
    assert "self_confirmed  [high] 自办自核  -> supervision_office" in result.output
    assert "separation of handling and checking was skipped" in result.output
