"""Issue #12's personal-data findings, each tried from outside as it was reported.

7. Phones written `138 1111 0002`, `138-1111-0003`, `+8613811110004` came back in clear to viewers.
8. Contact names came back in full from the case engine's own door and `hall central case`.
9. Phones sat in clear inside the hash-chained logs (and central kept window phones in clear).
"""

from __future__ import annotations

import json
import sqlite3

import httpx
from click.testing import CliRunner

from central.queue_stats import contact_for
from central.service import CentralService
from hallwatch.cli import main
from tests.privacy.conftest import CITIZEN, HALL, case_entry, hall_events, phones_in

FORMS = {"138 1111 0002": "13811110002", "138-1111-0003": "13811110003", "+8613811110004": "13811110004"}


def test_7_phones_in_any_form_in_a_complaint_are_masked_for_viewers(
    supervisor: httpx.Client, viewer: httpx.Client,
) -> None:
    summary = "窗口人员态度差，请回电 " + "，或 ".join(FORMS)
    complaint = supervisor.post("/api/complaints", json={"hall": HALL, "summary": summary}).json()["id"]
    supervisor.post(f"/api/complaints/{complaint}/answer",
                    json={"answer": "已回访，电话 138 1111 0002 本人确认"})
    for path in (f"/api/complaints/{complaint}", f"/api/complaints/{complaint}/history", "/api/complaints"):
        text = viewer.get(path).text
        assert not phones_in(text) & set(FORMS.values()), path
        assert "138****0002" in text and "138****0004" in text, path


def test_7_a_phone_in_a_suspension_note_is_masked_on_the_case_door(
    supervisor: httpx.Client, viewer: httpx.Client,
) -> None:
    entered = supervisor.post("/api/cases", json=case_entry("PD-0007", "张三丰", "13922223333"))
    assert entered.status_code == 201
    suspended = supervisor.post("/api/cases/PD-0007/suspensions", json={
        "case_id": "PD-0007", "by": "window-3", "at": "2026-11-23T10:02", "reason": "hearing",
        "note": "家属电话 138 1111 0002"})
    assert suspended.status_code == 200, suspended.text
    case = viewer.get("/api/cases/PD-0007")
    assert case.json()["holds"][0]["note"] == "家属电话 138****0002"
    history = viewer.get("/api/cases/PD-0007/history")
    for text in (case.text, history.text):
        assert CITIZEN not in phones_in(text)


def test_8_contact_names_are_masked_on_the_case_door_and_in_the_cli(
    central: CentralService, supervisor: httpx.Client, viewer: httpx.Client,
) -> None:
    supervisor.post("/api/cases", json=case_entry("PD-0008", "张三丰", CITIZEN))
    case = viewer.get("/api/cases/PD-0008")
    history = viewer.get("/api/cases/PD-0008/history")
    assert case.json()["contact_name"] == "张**"
    assert history.json()["case"]["contact_name"] == "张**"
    for response in (case, history):
        assert "张三丰" not in response.text and "三丰" not in response.text
    result = CliRunner().invoke(main, ["central", "case", "PD-0008", "--history",
                                       "--db", str(central.config.cases_path)], catch_exceptions=False)
    assert result.exit_code == 0
    assert '"contact_name": "张**"' in result.output and "张三丰" not in result.output
    assert CITIZEN not in phones_in(result.output)


def test_8_the_supervisor_calling_back_reads_the_contact_in_clear(
    supervisor: httpx.Client, viewer: httpx.Client,
) -> None:
    supervisor.post("/api/cases", json=case_entry("PD-0018", "张三丰", CITIZEN))
    assert viewer.get("/api/cases/PD-0018/contact").status_code == 403
    contact = supervisor.get("/api/cases/PD-0018/contact").json()
    assert contact == {"contact_name": "张三丰", "contact_phone": CITIZEN}


def test_9_chained_logs_and_central_stores_hold_phones_only_sealed(
    central: CentralService, supervisor: httpx.Client,
) -> None:
    supervisor.post("/api/cases", json=case_entry("PD-0009", "张三丰", CITIZEN))
    supervisor.post("/api/cases/PD-0009/suspensions", json={
        "case_id": "PD-0009", "by": "window-3", "at": "2026-11-23T10:02", "reason": "hearing",
        "note": "家属电话 138-1111-0002"})
    supervisor.post("/api/complaints", json={
        "hall": HALL, "summary": "请回电 +86 138 1111 0002", "phone": "138 1111 0002",
        "complainant": "赵小姐"})
    hall_events(central, ("queue.contact_given",
                          {"day": "2026-11-23", "ticket": "A012", "window": "w03", "phone": CITIZEN}))

    cases = sqlite3.connect(central.config.cases_path)
    events = sqlite3.connect(central.config.events_path)
    try:
        chained = [body for (body,) in cases.execute("SELECT body FROM case_events")]
        chained += [body for (body,) in events.execute("SELECT body FROM complaint_log")]
        chained += [payload for (payload,) in events.execute("SELECT payload FROM events")]
        contacts = [phone for (phone,) in events.execute("SELECT phone FROM queue_contacts")]
    finally:
        cases.close()
        events.close()
    for text in chained + contacts:
        assert CITIZEN not in phones_in(text), text
        assert "张三丰" not in text and "赵小姐" not in text
    assert len(contacts) == 1
    # Those who need it still have it: the SMS sender's look-ups open the sealed values.
    assert contact_for(central.store.query, HALL, "2026-11-23", "A012") == CITIZEN
    assert central.engine_cases is not None
    with central.engine_cases.alone() as store:
        assert store.contact_phone("PD-0009") == CITIZEN
    complaint = json.loads(supervisor.get("/api/complaints").text)[0]["id"]
    assert supervisor.get(f"/api/complaints/{complaint}/contact").json() == {
        "complainant": "赵小姐", "phone": "138 1111 0002"}
