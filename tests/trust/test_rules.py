"""The authority rules alone (`contract.authority`), on hand-made speakers: no broker, no store."""

from __future__ import annotations

from typing import Any

from contract.authority import Speaker, author_refusal, case_refusal, subject_refusal
from contract.catalog import spec_for
from contract.kinds import Author

CASES = {"JQ-1": ("hall-01", "自然资源局"), "JQ-2": ("hall-02", "自然资源局"), "JQ-3": ("hall-01", "公安局")}
WINDOW_7 = Speaker(Author.CALLER, "caller-7", "hall-01", "7", "off-7", frozenset({"自然资源局"}))
APPROVAL = Speaker(Author.API_CLIENT, "approval-zr", units=frozenset({"自然资源局"}))
OFFICE = Speaker(Author.API_CLIENT, "office")


def refusal(name: str, body: dict[str, Any], speaker: Speaker) -> str | None:
    rule = spec_for(name).authority
    return (author_refusal(name, rule, speaker) or subject_refusal(name, rule, body, speaker)
            or (case_refusal(name, body, speaker, CASES.get) if name.startswith("case.") else None))


def fact(case: str, by: str = "off-7", **more: Any) -> dict[str, Any]:
    return {"case_id": case, "by": by, "at": "2026-11-23T10:00", **more}


def test_a_device_speaks_only_about_itself() -> None:
    kiosk = Speaker(Author.KIOSK, "kiosk-1", "hall-01")
    assert refusal("device.selftest", {"kind": "kiosk"}, kiosk) is None
    assert refusal("device.selftest", {"kind": "recorder"}, kiosk) == \
        "kiosk-1 is registered as a kiosk, not a recorder"
    assert refusal("device.offline", {"device": "kiosk-2"}, kiosk) == \
        "a kiosk may not state device.offline (only gateway)"


def test_a_window_bound_device_speaks_only_for_its_window() -> None:
    assert refusal("queue.window_action", {"window": "7"}, WINDOW_7) is None
    assert refusal("queue.window_action", {"window": "8"}, WINDOW_7) == "registered for window 7, not 8"
    unbound = Speaker(Author.CALLER, "caller-x", "hall-01")
    assert refusal("queue.window_action", {"window": "7"}, unbound) == \
        "caller-x serves no window: it may not state queue.window_action"
    assert refusal("case.completed", fact("JQ-1"), unbound) == \
        "caller-x serves no window: it may not state case.completed"


def test_a_gateway_speaks_only_for_its_hall() -> None:
    gateway = Speaker(Author.GATEWAY, "gw-hall-01", "hall-01")
    assert refusal("rating.recorded", {"hall": "hall-01"}, gateway) is None
    assert "speaks only for its own hall" in str(refusal("rating.recorded", {"hall": "hall-02"}, gateway))


def test_a_window_states_facts_of_its_halls_and_its_officers_units_cases_by_that_officer() -> None:
    assert refusal("case.completed", fact("JQ-1"), WINDOW_7) is None
    assert refusal("case.completed", fact("JQ-1", by="off-9"), WINDOW_7) == \
        "by 'off-9' is not the officer logged in at window 7 (off-7)"
    assert "of hall 'hall-02'" in str(refusal("case.completed", fact("JQ-2"), WINDOW_7))
    assert "of unit '公安局'" in str(refusal("case.completed", fact("JQ-3"), WINDOW_7))
    assert refusal("case.completed", fact("JQ-9"), WINDOW_7) == "unknown case JQ-9: its entry must come first"
    nobody = Speaker(Author.CALLER, "caller-7", "hall-01", "7", None, None)
    assert "nobody is logged in at window 7" in str(refusal("case.completed", fact("JQ-1"), nobody))
    unknown_unit = Speaker(Author.CALLER, "caller-7", "hall-01", "7", "off-7", None)
    assert refusal("case.completed", fact("JQ-1"), unknown_unit) == \
        "the unit of officer off-7 is not known at this hall"


def test_a_correction_does_not_move_a_case_out_of_its_authors_scope() -> None:
    body = {"case_id": "JQ-1", "by": "off-7", "corrects": 1, "reason": "wrong unit"}
    assert refusal("case.corrected", body | {"changes": {"limit": 6}}, WINDOW_7) is None
    assert "moved to unit '公安局'" in str(
        refusal("case.corrected", body | {"changes": {"unit": "公安局"}}, WINDOW_7))
    assert "moved to hall 'hall-02'" in str(
        refusal("case.corrected", body | {"changes": {"hall": "hall-02"}}, WINDOW_7))


def test_an_api_token_states_facts_of_its_units_only_and_the_office_of_every_unit() -> None:
    assert refusal("case.completed", fact("JQ-2", by="李四"), APPROVAL) is None  # any hall, its unit
    assert "may state facts of 自然资源局 only" in str(refusal("case.completed", fact("JQ-3"), APPROVAL))
    assert refusal("case.completed", fact("JQ-3"), OFFICE) is None
    assert refusal("case.escalated", {"case_id": "JQ-1"}, OFFICE) == \
        "an api_client may not state case.escalated (only central)"
