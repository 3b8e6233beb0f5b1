"""Major projects: cases across units, a committed overall limit, a light that follows the slowest case."""

from __future__ import annotations

from typing import Any

import pytest

from central.appointments import HallAppointments
from central.cases.stages import LimitUnit
from central.projects import NewProject, ProjectError, UnknownCase
from contract.commands.queue import Booking, QueueAppointments
from tests.anomalies.rig import Rig

UNITS = ("自然资源局", "自然资源局", "住建局", "生态环境局", "市场监管局", "市场监管局")
"""Six cases of one investment project, in four units (并联审批)."""


def six_cases(rig: Rig) -> list[str]:
    cases = [f"XM-2026-{n:03d}" for n in range(1, 7)]
    for case, unit in zip(cases, UNITS, strict=True):
        rig.case(case, unit=unit, limit=10 if case != "XM-2026-004" else 5)
    return cases


def project(rig: Rig, cases: list[str], limit: int = 30) -> dict[str, object]:
    rig.office.projects.create(NewProject(id="ZD-2026-07", name="新能源汽车零部件产业园",
                                          coordinator="发改委 陈主任", limit=limit, cases=tuple(cases)),
                               "office")
    return rig.office.projects.get("ZD-2026-07")


def test_a_projects_light_follows_its_slowest_case(rig: Rig) -> None:
    cases = six_cases(rig)
    rig.engine.tick()
    shown = project(rig, cases)
    assert shown["stage"] == "blue" and shown["units"] == ["住建局", "市场监管局", "生态环境局", "自然资源局"]
    assert shown["slowest"]["case_id"] == "XM-2026-004"  # due first: five working days
    rig.at("2026-11-27T09:00")  # the five-day case shows yellow, the others blue
    rig.engine.tick()
    shown = rig.office.projects.get("ZD-2026-07")
    assert (shown["stage"], shown["own_stage"]) == ("yellow_light", "blue")
    assert shown["slowest"] == {"case_id": "XM-2026-004", "hall": "hall-centre", "unit": "生态环境局",
                                "matter": "户外广告设置许可", "officer": "李四", "stage": "yellow_light",
                                "due": "2026-11-30"}
    assert shown["counts"] == {"blue": 5, "yellow_light": 1}
    rig.at("2026-12-02T09:00")  # two working days late: a red card, and the project shows it
    rig.fact("case.completed", "XM-2026-001", "2026-12-01T10:00")
    rig.engine.tick()
    shown = rig.office.projects.get("ZD-2026-07")
    assert shown["stage"] == "red_card" and shown["slowest"]["case_id"] == "XM-2026-004"


def test_a_project_done_in_every_unit_is_completed_and_names_its_last_case(rig: Rig) -> None:
    cases = six_cases(rig)
    project(rig, cases)
    rig.at("2026-11-26T18:00")
    for n, case in enumerate(cases):
        rig.fact("case.completed", case, f"2026-11-2{4 + n // 3}T1{n}:00")
        rig.fact("case.completion_confirmed", case, f"2026-11-26T1{n}:30", by="王科长")
    rig.engine.tick()
    shown = rig.office.projects.get("ZD-2026-07")
    assert (shown["stage"], shown["own_stage"]) == ("completed", "completed")
    assert shown["slowest"]["case_id"] == "XM-2026-006"


def test_a_projects_own_committed_limit_lights_it_even_when_each_case_is_on_time(rig: Rig) -> None:
    cases = six_cases(rig)
    rig.at("2026-11-26T09:00")  # third working day: every case is blue
    rig.engine.tick()
    shown = project(rig, cases, limit=3)  # committed: the whole project in three working days
    assert shown["own_due"] == "2026-11-26" and shown["own_stage"] == "red_light"
    assert shown["stage"] == "red_light" and shown["counts"] == {"blue": 6}


def test_a_project_takes_only_cases_that_exist_once_each(rig: Rig) -> None:
    cases = six_cases(rig)
    project(rig, cases[:5])
    with pytest.raises(UnknownCase, match="NOPE-001"):
        rig.office.projects.add_case("ZD-2026-07", "NOPE-001", "office")
    with pytest.raises(ProjectError, match="already in project"):
        rig.office.projects.add_case("ZD-2026-07", cases[0], "office")
    rig.office.projects.add_case("ZD-2026-07", cases[5], "office")
    with pytest.raises(ProjectError, match="already exists"):
        rig.office.projects.create(NewProject(id="ZD-2026-07", name="x", coordinator="y", limit=3,
                                              limit_unit=LimitUnit.DAYS), "office")
    assert [s["type"] for s in rig.office.projects.history("ZD-2026-07")] == [
        "project.created", *["project.case_added"] * 6]
    assert rig.office.projects.verify()["ok"]


def test_a_green_channel_pass_reaches_the_halls_kiosks_as_an_appointment_code(rig: Rig) -> None:
    project(rig, six_cases(rig))
    first = rig.office.green_channel.issue("ZD-2026-07", hall="hall-01", service="A", day="2026-11-24",
                                           window=None, actor="office")
    second = rig.office.green_channel.issue("ZD-2026-07", hall="hall-01", service="B", day="2026-11-24",
                                            window="w07", actor="office")
    assert len(first) == 6 and first.isdigit() and first != second
    hall, command = rig.sent[-1]
    sent = QueueAppointments.model_validate(command)
    assert hall == "hall-01" and sent.day == "2026-11-24"
    assert sorted((b.code, b.service, b.window) for b in sent.appointments) == sorted(
        [(first, "A", None), (second, "B", "w07")])
    assert [s["type"] for s in rig.office.projects.history("ZD-2026-07")][-2:] == [
        "project.pass_issued", "project.pass_issued"]


def test_a_halls_day_list_carries_both_bookings_and_green_channel_passes() -> None:
    # One list a hall and day, replaced whole by each command: a source alone would wipe the other.
    sent: list[tuple[str, dict[str, Any]]] = []
    lists = HallAppointments(lambda hall, command: sent.append((hall, command)))

    class Source:
        def __init__(self, codes: dict[str, list[str]]) -> None:
            self.codes = codes

        def day_codes(self, hall: str, day: str) -> list[Booking]:
            return [Booking(code=code, service="G") for code in self.codes.get(day, [])]

        def days_from(self, hall: str, day: str) -> list[str]:
            return sorted(d for d in self.codes if d >= day)

    lists.add(Source({"2026-12-03": ["100001"]}))
    lists.add(Source({"2026-12-03": ["200002"], "2026-12-04": ["200003"]}))
    lists.send_day("hall-01", "2026-12-03")
    assert [b["code"] for b in sent[-1][1]["appointments"]] == ["100001", "200002"]
    assert lists.send_all("hall-01", "2026-12-02") == 2
    assert [(c["day"], len(c["appointments"])) for _hall, c in sent[-2:]] == [("2026-12-03", 2),
                                                                              ("2026-12-04", 1)]
