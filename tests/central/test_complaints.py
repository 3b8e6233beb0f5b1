"""Complaints from acceptance to answer: always accepted, assigned, answered once, overdue, chained."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from central.service import CentralService
from tests.central.conftest import stored_rows
from tests.central.hall import HALL

ABOUT_A_WINDOW = {"hall": HALL, "summary": "窗口人员离岗二十分钟", "window": "w03",
                  "visit_time": "2026-11-23T10:30:00", "unit": "民政局"}


def test_a_complaint_with_an_unknown_ticket_is_still_accepted_and_says_why(
    supervisor: httpx.Client,
) -> None:
    response = supervisor.post("/api/complaints", json={
        "hall": HALL, "ticket": "B077", "summary": "叫号后窗口无人"})
    assert response.status_code == 201
    complaint = response.json()
    assert complaint["window"] is None and complaint["holds"] == []
    assert "B077" in complaint["visit_problem"]

    linked = supervisor.post(f"/api/complaints/{complaint['id']}/visit", json={
        "window": "w05", "visit_time": "2026-11-23T09:10:00"})
    assert linked.status_code == 200, linked.text
    assert linked.json()["window"] == "w05" and linked.json()["visit_problem"] is None
    again = supervisor.post(f"/api/complaints/{complaint['id']}/visit", json={"window": "w06",
                            "visit_time": "2026-11-23T09:10:00"})
    assert again.status_code == 409


def test_naming_the_window_assigns_it_and_sets_its_own_deadline(supervisor: httpx.Client) -> None:
    complaint = supervisor.post("/api/complaints", json=ABOUT_A_WINDOW).json()
    assert complaint["state"] == "assigned" and complaint["unit"] == "民政局"
    assert complaint["due_at"] > complaint["received_at"]
    assert complaint["overdue"] is False


def test_an_answer_is_recorded_once(supervisor: httpx.Client) -> None:
    complaint = supervisor.post("/api/complaints", json=ABOUT_A_WINDOW).json()["id"]
    answered = supervisor.post(f"/api/complaints/{complaint}/answer",
                               json={"answer": "已核实，对当事人批评教育，电话 13712345678 已回访"})
    assert answered.status_code == 200
    body = answered.json()
    assert body["state"] == "answered" and "13712345678" not in body["answer"]
    assert supervisor.post(f"/api/complaints/{complaint}/answer", json={"answer": "再次答复"}
                           ).status_code == 409
    assert supervisor.post(f"/api/complaints/{complaint}/assign", json={"unit": "人社局"}
                           ).status_code == 409
    steps = [e["type"] for e in supervisor.get(f"/api/complaints/{complaint}/history").json()]
    assert steps == ["complaint.received", "complaint.visit_linked", "complaint.hold_impossible",
                     "complaint.assigned", "complaint.answered"]


def test_an_unanswered_complaint_past_its_deadline_is_flagged_once(
    central: CentralService, supervisor: httpx.Client
) -> None:
    complaint = supervisor.post("/api/complaints", json=ABOUT_A_WINDOW).json()
    due_ms = stored_rows(central.store, "SELECT due_at FROM complaints WHERE id = :id",
                         id=complaint["id"])[0][0]
    assert central.complaints.tick(due_ms - 1, 60_000) == []
    assert central.complaints.tick(due_ms, 60_000) == [complaint["id"]]
    assert central.complaints.tick(due_ms + 1000, 60_000) == []
    listed = supervisor.get("/api/complaints", params={"overdue": "true"}).json()
    assert [c["id"] for c in listed] == [complaint["id"]]


@pytest.mark.sqlite_only("the SQLite file's own trigger, dropped by hand; on PostgreSQL: test_verify_logs.py")
def test_the_complaint_log_cannot_be_edited_and_an_edit_behind_its_back_is_found(
    central: CentralService, supervisor: httpx.Client
) -> None:
    supervisor.post("/api/complaints", json=ABOUT_A_WINDOW)
    assert supervisor.get("/api/complaints/verify").json()["ok"] is True
    with sqlite3.connect(central.config.events_path) as raw:
        try:
            raw.execute("UPDATE complaint_log SET body = '{}' WHERE seq = 1")
            raise AssertionError("the append-only trigger let an update through")
        except sqlite3.DatabaseError as exc:
            assert "append-only" in str(exc)
        # Someone with the file drops the trigger and edits a row.
        raw.execute("DROP TRIGGER complaint_log_no_update")
        raw.execute("UPDATE complaint_log SET actor = 'nobody' WHERE seq = 2")
    report = supervisor.get("/api/complaints/verify").json()
    assert report["ok"] is False and report["first_bad"] == 2
