"""Case facts through central's API: an approval system's token states facts of its units' cases
only, and the token's user is their author, whatever the body names."""

from __future__ import annotations

import json

import pytest

from tests.trust.hall import SecuredHall
from tests.trust.samples import HALL, UNIT, Who, case_fact, case_id, entry

pytestmark = pytest.mark.xdist_group("trust")

ZR = Who("approval-zr", "api_client", unit=UNIT)  # 自然资源局's approval system
GA = Who("approval-ga", "api_client", unit="公安局")


def history(hall: SecuredHall, case: str) -> list[tuple[str, str]]:
    with hall.api("viewer") as viewer:
        return [(e["kind"], e["actor"]) for e in viewer.get(f"/api/cases/{case}/history").json()["events"]]


def api_alarms(hall: SecuredHall, user: str) -> list[tuple[str, str]]:
    rows = hall.central.store.query(
        "SELECT type, reason FROM security_alarms WHERE refused_by = 'api' AND device = ? ORDER BY at",
        (user,))
    return [(str(t), str(r)) for t, r in rows]


def test_an_approval_system_enters_and_completes_cases_of_its_unit_as_itself(hall: SecuredHall) -> None:
    case = case_id()
    with hall.api("approval-zr") as zr:
        assert zr.post("/api/cases", json=entry(ZR, case, by="李四")).status_code == 201
        done = zr.post(f"/api/cases/{case}/completion", json=case_fact(ZR, case, by="李四"))
        assert done.status_code == 200, done.text
    assert history(hall, case) == [("case.accepted", "approval-zr/李四"),
                                   ("case.completed", "approval-zr/李四")]


def test_an_approval_system_cannot_enter_a_case_of_another_unit(hall: SecuredHall) -> None:
    case = case_id()
    with hall.api("approval-zr") as zr:
        refused = zr.post("/api/cases", json=entry(ZR, case, unit="公安局"))
    assert refused.status_code == 403
    assert "may state facts of 自然资源局 only" in refused.json()["detail"]
    with hall.api("viewer") as viewer:
        assert viewer.get(f"/api/cases/{case}").status_code == 404
    assert ("case.accepted", refused.json()["detail"]) in api_alarms(hall, "approval-zr")


def test_an_approval_system_cannot_state_facts_of_another_units_case(hall: SecuredHall) -> None:
    case = case_id()
    with hall.api("approval-zr") as zr:
        assert zr.post("/api/cases", json=entry(ZR, case)).status_code == 201
    with hall.api("approval-ga") as ga:
        for door, kind, extra in (("suspensions", "case.suspended", {"reason": "hearing"}),
                                  ("completion", "case.completed", {}),
                                  ("confirmation", "case.completion_confirmed", {})):
            refused = ga.post(f"/api/cases/{case}/{door}", json=case_fact(GA, case, **extra))
            assert refused.status_code == 403, (door, refused.text)
            assert (kind, refused.json()["detail"]) in api_alarms(hall, "approval-ga")
        moved = ga.post(f"/api/cases/{case}/corrections", json={
            "case_id": case, "by": "x", "corrects": 1, "changes": {"unit": "公安局"}, "reason": "ours now"})
        assert moved.status_code == 403
    assert [kind for kind, _ in history(hall, case)] == ["case.accepted"]


def test_a_bulk_import_with_one_line_beyond_the_token_stores_nothing(hall: SecuredHall) -> None:
    ours, theirs = case_id(), case_id()
    lines = "\n".join(json.dumps(body, ensure_ascii=False) for body in (
        entry(ZR, ours), entry(ZR, theirs, unit="公安局")))
    with hall.api("approval-zr") as zr:
        refused = zr.post("/api/cases/import", content=lines.encode(),
                          headers={"Content-Type": "application/x-ndjson"})
        assert refused.status_code == 403 and refused.json()["detail"].startswith("line 2: ")
        alone = zr.post("/api/cases/import", content=lines.splitlines()[0].encode(),
                        headers={"Content-Type": "application/x-ndjson"})
        assert alone.status_code == 200 and alone.json()["stored"] == 1
    assert history(hall, ours) == [("case.accepted", f"approval-zr/{ZR.officer}")]
    with hall.api("viewer") as viewer:
        assert viewer.get(f"/api/cases/{theirs}").status_code == 404


def test_the_supervision_office_states_facts_of_every_unit_and_an_approval_token_nothing_else(
    hall: SecuredHall,
) -> None:
    case = case_id()
    with hall.api("office") as office:
        assert office.post("/api/cases", json=entry(GA, case, by="office")).status_code == 201
    assert history(hall, case) == [("case.accepted", "office")]
    with hall.api("approval-zr") as zr:
        complaint = zr.post("/api/complaints", json={"hall": HALL, "summary": "approval systems do not "
                                                                                 "take complaints"})
        assert complaint.status_code == 403
        assert zr.get("/api/cases", params={"hall": HALL}).status_code == 200
