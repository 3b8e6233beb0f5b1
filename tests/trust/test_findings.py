"""The six findings of issue #12, each tried as it was: from a hall device's own valid login.

Each of these facts went out on the device's own events topic (no ACL was
broken), was stored at the gateway and at central, and took effect. Now each
is refused where the table says, and nothing it claimed happens.
"""

from __future__ import annotations

from typing import Any

import pytest

from contract.envelope import Received
from gateway.registry.store import state_of
from tests.support import wait_until
from tests.trust.conftest import OTHER_OFFICER, OTHER_WINDOW
from tests.trust.hall import GATEWAY, SecuredHall, envelope
from tests.trust.samples import (
    HALL,
    OFFICER,
    OTHER_HALL,
    UNIT,
    WINDOW,
    Who,
    case_fact,
    case_id,
    entry,
    now_ms,
    sample,
)

pytestmark = pytest.mark.xdist_group("trust")

KIOSK = Who("kiosk-1", "kiosk")
WINDOW_7 = Who("caller-7", "caller", WINDOW)
WINDOW_8 = Who("caller-8", "caller", OTHER_WINDOW, officer=OTHER_OFFICER)


def refused_at_gateway(hall: SecuredHall, device: str, type: str, body: dict[str, Any]) -> str:
    event_id = hall.state(device, type, body)
    hall.wait_settled([event_id])
    assert hall.at_gateway(event_id) == "refused", hall.gateway_reason(event_id)
    assert hall.at_central(event_id) is None
    return hall.gateway_reason(event_id)


def office_case(hall: SecuredHall, who_hall: str = HALL, unit: str = UNIT) -> str:
    """A case the supervision office entered through the API."""
    case = case_id()
    with hall.api("office") as office:
        body = entry(Who("office", "api_client", hall=who_hall, unit=unit), case, by="office")
        assert office.post("/api/cases", json=body).status_code == 201
    return case


def stage_of(hall: SecuredHall, case: str) -> str:
    with hall.api("viewer") as viewer:
        return str(viewer.get(f"/api/cases/{case}").json()["stage"])


def test_1_a_kiosk_cannot_record_a_rating_nor_give_one(hall: SecuredHall) -> None:
    recorded = sample("rating.recorded", KIOSK) | {"officer": "off-framed"}
    reason = refused_at_gateway(hall, "kiosk-1", "rating.recorded", recorded)
    assert "a kiosk may not state rating.recorded (only gateway)" in reason
    given = sample("rating.given", KIOSK) | {"grade": "very_dissatisfied", "reason_pending": True}
    assert "a kiosk may not state rating.given" in refused_at_gateway(hall, "kiosk-1", "rating.given", given)
    with hall.api("viewer") as viewer:
        counted = viewer.get("/api/ratings/satisfaction", params={"by": "officer"}).json()
        followups = viewer.get("/api/ratings/followups").json()
    assert "off-framed" not in {row["key"] for row in counted}
    assert not [f for f in followups if f.get("rating") == recorded["rating"]]
    assert not hall.central.store.query("SELECT 1 FROM ratings WHERE terminal = 'kiosk-1'")


def test_2_a_served_visit_that_never_was_links_no_complaint_and_holds_no_footage(hall: SecuredHall) -> None:
    served = sample("queue.served", KIOSK) | {"ticket": "A777", "window": WINDOW, "officer": OFFICER}
    assert "may not state queue.served" in refused_at_gateway(hall, "kiosk-1", "queue.served", served)
    with hall.api("office") as office:
        complaint = office.post("/api/complaints", json={
            "hall": HALL, "summary": "窗口人员态度恶劣", "ticket": "A777"}).json()
    assert (complaint["window"], complaint["officer"]) == (None, None)
    assert complaint["holds"] == []


def test_3_a_device_cannot_report_another_offline_nor_a_recorder_that_does_not_exist(
    hall: SecuredHall,
) -> None:
    def shown(device: str) -> dict[str, Any] | None:
        with hall.api("viewer") as viewer:
            devices = viewer.get(f"/api/halls/{HALL}").json()["devices"]
        return next((d for d in devices if d["device"] == device), None)

    wait_until(lambda: (d := shown("kiosk-other")) and d["online"], 30, "kiosk-other online")
    offline = {"device": "kiosk-other", "reason": "connection lost", "last_seen": now_ms() + 60_000}
    assert "may not state device.offline" in refused_at_gateway(hall, "kiosk-1", "device.offline", offline)
    ghost = {"device": "recorder-ghost", "boot": "boot-0001", "kind": "recorder"}
    assert "may not state device.online" in refused_at_gateway(hall, "kiosk-1", "device.online", ghost)
    other = shown("kiosk-other")
    assert other is not None and other["online"] is True
    assert shown("recorder-ghost") is None


def test_4_no_device_activates_a_device_that_never_ran_its_self_test(hall: SecuredHall) -> None:
    activation = {"device": "kiosk-new", "state": "active", "previous": "provisioned", "reason": "forged"}
    for forger in ("kiosk-1", "kiosk-new"):
        reason = refused_at_gateway(hall, forger, "device.state_changed", activation)
        assert "may not state device.state_changed (only gateway)" in reason
    assert hall.gateway.db.read(lambda c: state_of(c, "kiosk-new")) == "provisioned"
    # And its own facts still wait for its self-test: held back, kept, not counted.
    event_id = hall.state("kiosk-new", "queue.printer_status", {"state": "ready", "printable": True})
    hall.wait_settled([event_id])
    assert hall.at_gateway(event_id) == "refused"
    assert "has not passed its self-test" in hall.gateway_reason(event_id)


def test_5a_a_kiosk_cannot_complete_nor_confirm_a_case(hall: SecuredHall) -> None:
    case = office_case(hall)
    for kind in ("case.completed", "case.completion_confirmed"):
        reason = refused_at_gateway(hall, "kiosk-1", kind, case_fact(KIOSK, case))
        assert f"a kiosk may not state {kind} (only api_client, caller)" in reason
    assert stage_of(hall, case) not in ("completed",)
    with hall.api("viewer") as viewer:
        kinds = [e["kind"] for e in viewer.get(f"/api/cases/{case}/history").json()["events"]]
    assert kinds == ["case.accepted"]


def test_5b_a_window_cannot_suspend_another_halls_case(hall: SecuredHall) -> None:
    case = office_case(hall, who_hall=OTHER_HALL)
    event_id = hall.state("caller-7", "case.suspended", case_fact(WINDOW_7, case, reason="hearing"))
    # The gateway keeps no case records: central, which does, refuses it.
    wait_until(lambda: hall.at_central(event_id), 30, "central to decide on the suspension")
    assert hall.at_gateway(event_id) == "stored"
    assert hall.at_central(event_id) == "refused"
    assert f"case {case} of hall 'hall-02'" in hall.central_reason(event_id)
    assert stage_of(hall, case) != "suspended"
    alarms = hall.central.store.query(
        "SELECT refused_by, hall, device, type FROM security_alarms WHERE refused_by = 'central' "
        "AND type = 'case.suspended' AND device = 'caller-7'")
    assert alarms == [("central", HALL, "caller-7", "case.suspended")]


def test_5c_a_window_cannot_enter_a_case_in_another_hall(hall: SecuredHall) -> None:
    case = case_id()
    body = entry(WINDOW_7, case, hall=OTHER_HALL)
    assert "of hall 'hall-02'" in refused_at_gateway(hall, "caller-7", "case.accepted", body)
    with hall.api("viewer") as viewer:
        assert viewer.get(f"/api/cases/{case}").status_code == 404


def test_5d_a_window_states_facts_only_of_its_officers_unit(hall: SecuredHall) -> None:
    case = office_case(hall)  # of 自然资源局; window 8's officer serves 公安局
    completed = hall.state("caller-8", "case.completed", case_fact(WINDOW_8, case))
    wait_until(lambda: hall.at_central(completed), 30, "central to decide on the completion")
    assert hall.at_central(completed) == "refused"
    assert f"case {case} of unit '{UNIT}'" in hall.central_reason(completed)
    # Its own unit's case is another matter: entered and completed, by the logged-in officer.
    own = case_id()
    entered = hall.state("caller-8", "case.accepted", entry(WINDOW_8, own, unit="公安局"))
    done = hall.state("caller-8", "case.completed", case_fact(WINDOW_8, own))
    hall.wait_settled([entered, done])
    assert (hall.at_central(entered), hall.at_central(done)) == ("stored", "stored")
    stamp = hall.central_envelope(done)["recv"]
    assert (stamp["officer"], stamp["unit"], stamp["window"]) == (OTHER_OFFICER, "公安局", OTHER_WINDOW)
    with hall.api("viewer") as viewer:
        history = viewer.get(f"/api/cases/{own}/history").json()["events"]
    assert [(e["kind"], e["actor"]) for e in history] == [("case.accepted", OTHER_OFFICER),
                                                         ("case.completed", OTHER_OFFICER)]


def test_6_a_device_cannot_choose_its_own_gateway_time(hall: SecuredHall) -> None:
    chosen = now_ms() - 30 * 24 * 3600 * 1000
    forged = envelope("kiosk-tampered", "queue.printer_status", {"state": "ready", "printable": True},
                      recv=Received(by=GATEWAY, at=chosen, est_time=chosen, kind="kiosk"))
    hall.publish_as_device("kiosk-tampered", [forged])
    wait_until(lambda: hall.at_gateway(forged["id"]), 30, "the gateway to decide on the stamped event")
    assert hall.at_gateway(forged["id"]) == "refused"
    assert "arrived with a receipt stamp of its own" in hall.gateway_reason(forged["id"])
    assert hall.at_central(forged["id"]) is None


def test_a_refusal_is_an_alarm_on_the_halls_telemetry_and_the_big_screen(hall: SecuredHall) -> None:
    event_id = hall.state("kiosk-1", "queue.called", sample("queue.called", KIOSK))
    hall.wait_settled([event_id])
    with hall.api("viewer") as viewer:
        def alarmed() -> dict[str, Any] | None:
            view = viewer.get(f"/api/halls/{HALL}").json()
            return view if any(a["type"] == "queue.called" and a["device"] == "kiosk-1"
                               for a in view["alarms"]) else None

        view = wait_until(alarmed, 30, "the refusal among the hall's alarms")
        kiosk = next(d for d in view["devices"] if d["device"] == "kiosk-1")
        assert kiosk["refused"] >= 1 and kiosk["quarantined"] is False
        screen = viewer.get("/api/screen").json()
    assert screen["alarms"][0]["refused_by"] in ("gateway", "central", "api")
    assert any(a["device"] == "kiosk-1" and a["type"] == "queue.called" for a in screen["alarms"])
