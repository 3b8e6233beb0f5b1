"""Who may do what: reads need the viewer role, writes the supervisor role; personal data stays masked."""

from __future__ import annotations

import httpx

from central.service import CentralService
from tests.central.conftest import VIEWER_TOKEN, client

COMPLAINT = {"hall": "hall-01", "summary": "窗口工作人员态度差", "phone": "13712345678",
             "complainant": "赵小姐", "window": "w03", "visit_time": "2026-11-23T10:15:00"}


def test_reading_without_a_token_is_refused(central: CentralService) -> None:
    with client(central) as anonymous:
        response = anonymous.get("/api/cases")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_wrong_token_is_refused(central: CentralService) -> None:
    with client(central, "not-a-token") as stranger:
        assert stranger.get("/api/screen").status_code == 401


def test_the_big_screen_role_reads_but_cannot_write(viewer: httpx.Client) -> None:
    assert viewer.get("/api/cases").status_code == 200
    assert viewer.post("/api/complaints", json=COMPLAINT).status_code == 403


def test_the_supervision_office_writes(supervisor: httpx.Client) -> None:
    response = supervisor.post("/api/complaints", json=COMPLAINT)
    assert response.status_code == 201, response.text
    assert response.json()["state"] == "received"


def test_the_screen_cookie_reads_but_never_writes(central: CentralService) -> None:
    with client(central) as browser:
        landing = browser.get(f"/screen?token={VIEWER_TOKEN}")
        assert landing.status_code == 303 and landing.headers["location"] == "/screen"
        assert browser.cookies.get("hallwatch_screen") == VIEWER_TOKEN
        assert browser.get("/api/screen").status_code == 200
        # A supervisor's token in a cookie would still not write: writes need the header.
        browser.cookies.set("hallwatch_screen", "supervisor-token-for-tests")
        assert browser.post("/api/complaints", json=COMPLAINT).status_code == 401


def test_phones_and_names_are_masked_in_case_listings(viewer: httpx.Client) -> None:
    body = viewer.get("/api/cases", params={"stage": "red_light"}).text
    assert "13998765432" not in body and "13900001111" not in body
    case = viewer.get("/api/cases", params={"stage": "red_light"}).json()["cases"][0]
    assert case["contact_phone"] == "139****5432"
    assert case["contact_name"] == "张**"
    assert case["officer_name"] == "李明"  # the accountable officer is named, not hidden


def test_a_complainants_phone_is_shown_only_to_the_office_calling_back(
    supervisor: httpx.Client, viewer: httpx.Client
) -> None:
    complaint = supervisor.post("/api/complaints", json=COMPLAINT).json()["id"]
    for path in (f"/api/complaints/{complaint}", f"/api/complaints/{complaint}/history",
                 "/api/complaints", "/api/screen"):
        assert "13712345678" not in viewer.get(path).text, path
    assert viewer.get(f"/api/complaints/{complaint}/contact").status_code == 403
    contact = supervisor.get(f"/api/complaints/{complaint}/contact").json()
    assert contact == {"complainant": "赵小姐", "phone": "13712345678"}
