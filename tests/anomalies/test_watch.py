"""The watch: incremental (each tick reads only what arrived), never ahead of a source's facts, once only."""

from __future__ import annotations

import tomllib
from pathlib import Path

from central.anomalies.table import DEFAULT_RULES
from tests.anomalies.rig import Rig, ms
from tests.anomalies.test_rules import rating


def test_a_tick_reads_only_what_arrived_since_the_last_one(rig: Rig) -> None:
    for n in range(1, 21):
        rig.case(f"JQ-{n:04d}")
    first = rig.office.watch.tick(rig.clock.wall_ms())
    assert first.read == 20 and first.judged == 20 and first.waiting == 0
    assert rig.office.watch.tick(rig.clock.wall_ms()).read == 0
    rig.case("JQ-0021", accepted_at="2026-11-22T10:00", applied_at="2026-11-22T09:00")
    third = rig.office.watch.tick(rig.clock.wall_ms())
    assert (third.read, third.judged, [r.rule for r in third.raised]) == (1, 1, ["accepted_off_hours"])


def test_a_halls_facts_wait_until_the_hall_is_known_complete_up_to_them(rig: Rig) -> None:
    start = ms("2026-11-23T10:00")
    rig.hall_events([rating("w03", "very_satisfied", start + i * 20_000, i) for i in range(5)])
    rig.at("2026-11-23T10:06")
    assert rig.tick() == []  # the hall's stream is known only up to 10:01:20, less the 15 min grace
    assert rig.office.watch.tick(rig.clock.wall_ms()).waiting == 5
    rig.at("2026-11-23T10:30")
    rig.hall_complete_until("2026-11-23T10:30")  # a heartbeat with an empty outbox
    assert len(rig.tick()) == 1
    assert rig.office.watch.tick(rig.clock.wall_ms()).waiting == 0


def test_a_halls_facts_are_judged_in_the_order_they_happened_not_the_order_they_arrived(rig: Rig) -> None:
    start = ms("2026-11-23T10:00")
    ratings = [rating("w03", "very_satisfied", start + i * 20_000, i) for i in range(5)]
    rig.hall_events(ratings[3:])  # a backlog drained out of order: the last presses first
    rig.hall_events(ratings[:3])
    rig.at("2026-11-23T11:00")
    rig.hall_complete_until("2026-11-23T11:00")
    rig.tick()
    [anomaly] = rig.hits("rating_bursts")
    assert "5 ratings '非常满意' in a row within 80 s" in anomaly["summary"]


def test_a_hit_is_raised_once_across_ticks_restarts_and_later_facts(rig: Rig) -> None:
    rig.case("JQ-0001", accepted_at="2026-11-22T10:00", applied_at="2026-11-22T09:00")
    assert len(rig.tick()) == 1
    rig.reopen()
    assert rig.tick() == []
    rig.at("2026-11-23T12:00")
    rig.fact("case.suspended", "JQ-0001", "2026-11-23T11:00", reason="testing")
    rig.tick()
    assert len(rig.hits("accepted_off_hours")) == 1


def test_a_central_restarted_after_facts_arrived_judges_them_once(rig: Rig) -> None:
    rig.office.close()
    rig.case("JQ-0001", accepted_at="2026-11-22T10:00", applied_at="2026-11-22T09:00")
    rig.office = rig.open()
    assert len(rig.tick()) == 1 and rig.tick() == []


def test_high_risk_anomalies_are_announced_to_the_big_screen_and_others_are_not(rig: Rig) -> None:
    rig.case("JQ-0001", accepted_at="2026-11-22T10:00", applied_at="2026-11-22T09:00")  # medium
    rig.case("JQ-0002")
    rig.at("2026-11-23T16:00")
    rig.fact("case.decided", "JQ-0002", "2026-11-23T15:00", matter="违法建设罚款", circumstance="严重",
             amount=500000, reason="面积远超")  # high
    rig.tick()
    announced = [data for kind, data in rig.published if kind == "anomaly"]
    assert [a["rule"] for a in announced] == ["decision_out_of_range"]
    assert announced[0]["title"] == "自由裁量越界"


def test_a_rule_switched_off_reads_nothing(tmp_path: Path) -> None:
    root = tmp_path
    text = DEFAULT_RULES.read_text(encoding="utf-8").replace(
        'detector = "accepted_off_hours"', 'detector = "accepted_off_hours"\nenabled = false')
    assert tomllib.loads(text)["rules"]["accepted_off_hours"]["enabled"] is False
    (root / "rules.toml").write_text(text, encoding="utf-8")
    rig = Rig(root, anomaly_rules=str(root / "rules.toml"))
    try:
        rig.case("JQ-0001", accepted_at="2026-11-22T10:00", applied_at="2026-11-22T09:00")
        assert rig.tick() == []
    finally:
        rig.close()
