"""Erasing one citizen: their phone and name are gone from every store and every answer, their neighbour's
are not, and every hash-chained log still verifies (crypto-shredding)."""

from __future__ import annotations

from pathlib import Path

import httpx

from central.personal import vault
from central.queue_stats import contact_for
from central.service import CentralService
from central.sms.platform import SmsPlatform
from contract.privacy import ERASED
from tests.privacy.conftest import (
    CITIZEN,
    HALL,
    NEIGHBOUR,
    case_entry,
    hall_events,
    phones_in,
    raw_bytes,
    where_in_clear,
)

DAY = "2026-11-23"
CLEAR_FORMS = (CITIZEN, "138 1111 0002", "138-1111-0002", "１３８１１１１０００２", "张三丰", "赵小姐")
RATING = "rating-0000-bad-0001"


def _enter_everywhere(central: CentralService, supervisor: httpx.Client, sms: SmsPlatform) -> str:
    """The citizen's data through every door, in every form people write it; returns the complaint."""
    assert supervisor.post("/api/cases", json=case_entry("PD-0001", "张三丰", CITIZEN)).status_code == 201
    assert supervisor.post("/api/cases", json=case_entry("PD-0002", "李大山", NEIGHBOUR)).status_code == 201
    supervisor.post("/api/cases/PD-0001/suspensions", json={
        "case_id": "PD-0001", "by": "window-3", "at": "2026-11-23T10:02", "reason": "hearing",
        "note": "家属电话 138 1111 0002"})
    complaint = supervisor.post("/api/complaints", json={
        "hall": HALL, "summary": "请回电 +86 138-1111-0002，邻居 139 2222 3333 可作证",
        "phone": "138-1111-0002", "complainant": "赵小姐"}).json()["id"]
    supervisor.post(f"/api/complaints/{complaint}/answer",
                    json={"answer": "已回访 １３８１１１１０００２，本人满意"})
    hall_events(
        central,
        ("queue.contact_given", {"day": DAY, "ticket": "A012", "window": "w03", "phone": CITIZEN}),
        ("queue.contact_given", {"day": DAY, "ticket": "A013", "window": "w03", "phone": NEIGHBOUR}),
        # A window's system enters a case through the hall: it reaches the event log and the case store.
        ("case.accepted", case_entry("PD-0003", "张三丰", "+86 138 1111 0002")),
        ("rating.recorded", {
            "hall": HALL, "window": "3", "officer": "x001", "officer_name": None, "department": "市场监管局",
            "service": "A", "visit": None, "how": "session", "rating": RATING, "terminal": "rating-w3",
            "grade": "very_dissatisfied", "rated_at": central.clock.wall_ms(), "source_event": "e" * 32}),
    )
    for step, note in (("rectify", "已整改"), ("callback", "已电话回访 138 1111 0002，群众满意")):
        assert supervisor.post(f"/api/ratings/followups/{HALL}/{RATING}/{step}",
                               json={"note": note}).status_code == 200
    sms.notify("fact-citizen", "case.accepted", case_entry("PD-0001", "张三丰", CITIZEN))
    sms.notify("fact-neighbour", "case.accepted", case_entry("PD-0002", "李大山", NEIGHBOUR))
    sms.run_once()
    return str(complaint)


def _found_in(data: bytes) -> set[str]:
    """Which of the citizen's clear forms stand in the raw bytes of a file."""
    return {form for form in CLEAR_FORMS if form.encode() in data}


def _stores(central: CentralService, sms: SmsPlatform) -> list[Path]:
    return [central.config.events_path, central.config.cases_path, sms.outbox.path]


def test_erasing_a_citizen_removes_their_data_everywhere_and_every_chain_still_verifies(
    central: CentralService, supervisor: httpx.Client, viewer: httpx.Client, sms: SmsPlatform,
) -> None:
    complaint = _enter_everywhere(central, supervisor, sms)
    # At rest, only the SMS outbox (which must dial the number) holds it in clear.
    assert {hit[0].split(":")[0] for hit in where_in_clear(_stores(central, sms), CITIZEN)} == {"sms.sqlite"}
    assert where_in_clear(_stores(central, sms)[:2], names=("张三丰", "赵小姐")) == []
    for path in _stores(central, sms)[:2]:
        assert not set(CLEAR_FORMS) & _found_in(raw_bytes(path)), path

    report = central.eraser.erase_phone("+86 138 1111 0002", actor="office")

    assert set(report.subjects) == {"case:PD-0001", "case:PD-0003", f"complaint:{complaint}",
                                    f"visit:{HALL}/{DAY}/A012", f"followup:{HALL}/{RATING}"}
    assert report.sms["messages"] == 1
    assert where_in_clear(_stores(central, sms), CITIZEN, ("张三丰", "赵小姐")) == []
    for path in _stores(central, sms):
        assert not set(CLEAR_FORMS) & _found_in(raw_bytes(path)), path

    # Every answer, to every reader: erased, while the records, their dates and lights stay.
    for case_id in ("PD-0001", "PD-0003"):
        case = supervisor.get(f"/api/cases/{case_id}").json()
        assert (case["contact_name"], case["contact_phone"], case["stage"]) == (ERASED, ERASED, case["stage"])
        assert supervisor.get(f"/api/cases/{case_id}/contact").json() == {
            "contact_name": ERASED, "contact_phone": ERASED}
    assert supervisor.get("/api/cases/PD-0001").json()["holds"][0]["note"] == f"家属电话 {ERASED}"
    assert supervisor.get(f"/api/complaints/{complaint}/contact").json() == {
        "complainant": ERASED, "phone": ERASED}
    answers = [viewer.get(path).text for path in (
        "/api/cases", "/api/cases/PD-0001", "/api/cases/PD-0001/history", "/api/cases/PD-0003/history",
        f"/api/complaints/{complaint}", f"/api/complaints/{complaint}/history", "/api/complaints",
        "/api/ratings/followups")]
    answers.append(str(central.ratings.history(HALL, RATING)))
    for text in answers:
        assert CITIZEN not in phones_in(text) and "138****0002" not in text
    assert central.ratings.history(HALL, RATING)[-1]["note"] == f"已电话回访 {ERASED}，群众满意"
    assert contact_for(central.store.query, HALL, DAY, "A012") is None
    assert [m.phone for m in sms.messages() if m.fact_id == "fact-citizen"] == [ERASED]

    # The neighbour, whose number stood in the same complaint, is untouched.
    assert contact_for(central.store.query, HALL, DAY, "A013") == NEIGHBOUR
    assert supervisor.get("/api/cases/PD-0002/contact").json() == {
        "contact_name": "李大山", "contact_phone": NEIGHBOUR}
    assert [m.phone for m in sms.messages() if m.fact_id == "fact-neighbour"] == ["139****3333"]

    # Nothing chained was touched.
    assert supervisor.get("/api/log/verify").json()["ok"] is True
    assert supervisor.get("/api/complaints/verify").json()["ok"] is True
    assert central.ratings.verify_log() is None
    assert central.engine_cases is not None
    with central.engine_cases.alone() as store:
        assert store.verify().ok
    # And the erasure itself is on record, without the data it erased.
    logged = vault.erasures(central.store.query)
    assert {entry["subject"] for entry in logged} == {
        "case:PD-0003", f"complaint:{complaint}", f"visit:{HALL}/{DAY}/A012", f"followup:{HALL}/{RATING}"}
    assert {entry["actor"] for entry in logged} == {"office"}
    assert not any(CITIZEN in phones_in(str(entry)) for entry in logged)


def test_erasing_twice_finds_nothing_left(central: CentralService, supervisor: httpx.Client,
                                          sms: SmsPlatform) -> None:
    _enter_everywhere(central, supervisor, sms)
    assert central.eraser.erase_phone(CITIZEN, actor="office").subjects
    again = central.eraser.erase_phone(CITIZEN, actor="office")
    assert again.subjects == [] and again.sms["messages"] == 0


def test_a_case_entered_again_after_erasure_is_still_a_duplicate_and_not_resurrected(
    central: CentralService, supervisor: httpx.Client,
) -> None:
    entry = case_entry("PD-0001", "张三丰", CITIZEN)
    supervisor.post("/api/cases", json=entry)
    central.eraser.erase_phone(CITIZEN, actor="office")
    again = supervisor.post("/api/cases", json=entry)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert supervisor.get("/api/cases/PD-0001/contact").json()["contact_phone"] == ERASED
    changed = supervisor.post("/api/cases", json={**entry, "matter": "另一事项"})
    assert changed.status_code == 409
