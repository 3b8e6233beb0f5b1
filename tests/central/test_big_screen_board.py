"""The big screen's board (`/api/screen/board`): counts that agree with the case records, figures that
agree with `hall central stats`, alarms newest first, window status, the slots, and no scan of every
case at each refresh."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from central.cases.stats import statistics
from central.cases.timebase import day_of, midnight, parse_instant
from central.service import CentralService
from central.web.models import DeviceOut, HealthOut
from central.web.screen.board import troubled
from central.web.screen.models import ScreenAnomaly, ScreenProject
from central.web.screen.sqltally import SqlTally
from central.web.screen.tally import BoardTally, Place
from tests.central.conftest import MONDAY_MORNING, VIEWER_TOKEN, client
from tests.central.events import deliver
from tests.central.screen_view import MINUTE, a_morning_queue


@pytest.fixture
def http(engine_central: CentralService) -> Iterator[httpx.Client]:
    with client(engine_central, VIEWER_TOKEN) as viewer:
        yield viewer


def board(http: httpx.Client, **scope: str) -> dict[str, Any]:
    answer = http.get("/api/screen/board", params=scope)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def open_total(http: httpx.Client, **query: str) -> int:
    return int(http.get("/api/cases", params={"open": "true", "limit": 1, **query}).json()["total"])


def test_the_board_counts_every_open_case_by_centre_unit_and_light(http: httpx.Client) -> None:
    shown = board(http)
    assert shown["open_cases"] == open_total(http) > 0
    for stage, n in shown["counts"].items():
        assert n == open_total(http, stage=stage), stage
    # Centres, units and the matrix are the same cases counted three ways.
    assert sum(c["open"] for c in shown["centres"]) == shown["open_cases"]
    assert sum(u["open"] for u in shown["units"]) == shown["open_cases"]
    assert sum(sum(m["counts"].values()) for m in shown["matrix"]) == shown["open_cases"]
    for unit in shown["units"]:
        assert unit["open"] == open_total(http, unit=unit["unit"]), unit["unit"]
    assert [c["hall"] for c in board(http, hall="hall-01")["centres"]] == ["hall-01"]


def test_the_figures_are_the_statistics_of_today_and_of_this_year(
    engine_central: CentralService, http: httpx.Client
) -> None:
    shown = board(http)
    now = MONDAY_MORNING // 1000
    today = midnight(day_of(now))
    year = parse_instant("2026-01-01")
    assert engine_central.engine_cases is not None
    with engine_central.engine_cases.alone() as store:
        (figures_today,) = statistics(store.connection, since=today)
        (figures_year,) = statistics(store.connection, since=year)
    for shown_figures, expected in ((shown["today"], figures_today), (shown["year"], figures_year)):
        assert shown_figures == {
            "received": expected.received, "completed": expected.completed, "on_time": expected.on_time,
            "on_time_rate": expected.on_time_rate, "yellow_cards": expected.yellow_cards,
            "red_cards": expected.red_cards, "letters": expected.supervision_letters,
        }
    assert shown["year"]["yellow_cards"] >= 1, "the demo's cards were issued when it was seeded"
    assert shown["day"] == "2026-11-23" and shown["now"] == "2026-11-23T10:05:00+08:00"
    assert shown["utc_offset_min"] == 480


def test_the_alarm_list_holds_the_cards_issued_before_anyone_looked_newest_first(http: httpx.Client) -> None:
    alarms = board(http)["alarms"]
    stages = {a["stage"] for a in alarms["cases"]}
    assert stages == {"yellow_card", "red_card", "supervision_letter"}
    assert alarms["cases_total"] == len(alarms["cases"]) == sum(
        open_total(http, stage=s) for s in ("yellow_card", "red_card", "supervision_letter"))
    since = [a["since"] for a in alarms["cases"]]
    assert since == sorted(since, reverse=True), "newest first"


def test_the_alarm_list_holds_the_offices_open_high_risk_anomalies_and_the_projects_their_panel(
    engine_central: CentralService, http: httpx.Client
) -> None:
    engine_central.tick()  # the demo's completions confirmed by their own officer: high risk (if not yet)
    board = http.get("/api/screen/board").json()
    anomalies = board["alarms"]["anomalies"]
    assert [(a["rule"], a["risk"], a["state"]) for a in anomalies] == [("self_confirmed", "high", "open")] * 3
    assert all(a["title"].startswith("自办自核") for a in anomalies)
    assert [a["at"] for a in anomalies] == sorted((a["at"] for a in anomalies), reverse=True)
    assert board["projects"] == [], "the office keeps projects: an empty panel, not none"
    assert http.get("/api/screen/board", params={"hall": "hall-04"}).json()["alarms"]["anomalies"] == []


def test_the_board_carries_no_personal_data(http: httpx.Client) -> None:
    text = http.get("/api/screen/board").text
    assert "1380000" not in text and "1390000" not in text, "no phone, not even masked"
    assert "市民" not in text, "no applicant's name"


@pytest.mark.sqlite_only("SQLite's query plans of its SqlTally; PostgreSQL's screen reads are bench.screen's")
def test_the_screen_reads_open_cases_through_its_index_and_never_scans_the_case_table(
    engine_central: CentralService,
) -> None:
    tally = engine_central.context.screen.tally
    assert isinstance(tally, SqlTally)
    statements: list[str] = []
    tally._connection.set_trace_callback(statements.append)
    try:
        tally.open_places(Place())
        tally.alarm_cases(Place(), 200)
        tally.figures(Place(), midnight(day_of(MONDAY_MORNING // 1000)), None)
    finally:
        tally._connection.set_trace_callback(None)
    assert len(statements) == 4, statements  # today's received and completed: one read of the day counts
    reader = sqlite3.connect(engine_central.config.cases_path)
    try:
        for sql in statements:
            plan = " | ".join(row[3] for row in reader.execute("EXPLAIN QUERY PLAN " + sql))
            for step in plan.split(" | "):
                if step.startswith("SCAN"):  # the open counts' few rows, or the open cases' index
                    assert "case_open_counts" in step or "cases_open_places" in step, (sql, plan)
    finally:
        reader.close()


def test_both_tallies_count_the_same(engine_central: CentralService) -> None:
    sql = engine_central.context.screen.tally
    assert sql is not None
    rows = BoardTally(engine_central.cases)
    assert sorted(rows.open_places(Place())) == sorted(sql.open_places(Place()))
    since = parse_instant("2026-01-01")

    def figures(tally: Any) -> list[tuple[str, str, int, int, int]]:
        return [(f.hall, f.unit, f.received, f.completed, f.on_time)
                for f in tally.figures(Place(), since, None)]

    def alarms(tally: Any) -> set[str]:
        return {a.case_id for a in tally.alarm_cases(Place(), 50)}

    assert figures(rows) == figures(sql)
    assert alarms(rows) == alarms(sql)


def test_many_screens_one_count_per_change(engine_central: CentralService, http: httpx.Client) -> None:
    tally = engine_central.context.screen.tally
    assert tally is not None
    counted: list[Place] = []
    original = tally.open_places

    def counting(place: Place) -> Any:
        counted.append(place)
        return original(place)

    tally.open_places = counting  # type: ignore[method-assign]
    # Counted once per version of the board, however many screens ask: on PostgreSQL a change
    # the seed announced may still arrive (a new version) while the screens ask, so the test
    # compares the counts with the versions served rather than with a fixed number.
    served = {board(http)["version"] for _screen in range(3)}
    assert len(counted) == len(served) < 3, "the other screens read the board already counted"
    engine_central.feed.touch()
    after = {board(http)["version"] for _screen in range(3)}
    assert after - served, "a change is a new version"
    assert len(counted) == len(served | after), "a change is counted again, once"


def test_the_window_status_names_who_serves_which_ticket_and_who_waits_longest(
    engine_central: CentralService, http: httpx.Client,
) -> None:
    start = MONDAY_MORNING - 30 * MINUTE
    deliver(engine_central.store, "hall-01", a_morning_queue(start))
    (centre,) = board(http, hall="hall-01")["centres"]
    queue = centre["queue"]
    assert queue["waiting"] == 2 and queue["issued"] == 4 and queue["served"] == 1
    assert queue["longest_wait_s"] == 28 * 60, "B001 has waited since 09:37"
    assert queue["services"] == [{"service": "A", "waiting": 1, "longest_wait_s": 20 * 60},
                                 {"service": "B", "waiting": 1, "longest_wait_s": 28 * 60}]
    (window,) = queue["windows"]
    assert window == {"window": "3", "officer": "王芳", "ticket": "A002", "service": "A",
                      "serving_since": start + 20 * MINUTE, "served_today": 1}


def test_other_parts_of_central_fill_the_anomaly_and_project_slots(
    engine_central: CentralService, http: httpx.Client,
) -> None:
    asked: list[tuple[str | None, int]] = []

    def anomalies(hall: str | None, limit: int) -> list[ScreenAnomaly]:
        asked.append((hall, limit))
        return [ScreenAnomaly(anomaly="AN-1", hall="hall-01", unit="民政局", rule="suspended_before_yellow",
                              title="黄灯前一天暂停计时", at=MONDAY_MORNING)]

    def projects(hall: str | None, limit: int) -> list[ScreenProject]:
        return [ScreenProject(project="P-1", name="光伏产业园", stage="red_light", cases=6,
                              slowest_case="DEMO-0104", slowest_unit="民政局", due="2026-12-20")]

    engine_central.context.screen.anomalies = anomalies
    engine_central.context.screen.projects = projects
    shown = board(http, hall="hall-01")
    assert shown["alarms"]["anomalies"][0]["anomaly"] == "AN-1"
    assert shown["projects"][0]["slowest_case"] == "DEMO-0104"
    assert asked == [("hall-01", 50)]


def test_a_device_needs_someone_when_it_is_down_unhealthy_losing_events_or_refused() -> None:
    def device(**changes: Any) -> DeviceOut:
        fields: dict[str, Any] = {"device": "kiosk-1", "kind": "kiosk", "online": True, "since": None,
                                  "last_seen": None, "reason": None, "dropped": 0, "skew_ms": None,
                                  "skewed": False, "health": []}
        return DeviceOut(**{**fields, **changes})

    printer = HealthOut(component="printer", state="paper_out", detail=None, at=0)
    assert not troubled(device())
    assert not troubled(device(health=[printer.model_copy(update={"state": "unknown"})]))
    for problem in ({"online": False}, {"health": [printer]}, {"dropped": 3}, {"refused": 1},
                    {"quarantined": True}):
        assert troubled(device(**problem)), problem
