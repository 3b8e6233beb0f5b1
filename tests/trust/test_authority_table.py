"""The authority table, pair by pair, through a real broker, gateway and central.

For every kind of device and every event type, a device of that kind states it
with its own valid login, on its own topic: it is stored at the gateway and at
central exactly when the table (`contract.authority`, declared with each type)
lets that kind state it; otherwise the gateway refuses it, keeps it as a dead
letter with its reason, raises `security.refused`, and central never sees it.
Then the same for what a gateway forwards: central applies the table again.
"""

from __future__ import annotations

from typing import Any

import pytest

from contract.catalog import all_specs, spec_for
from contract.envelope import Received
from contract.kinds import DEVICE_AUTHORS, Author
from tests.support import wait_until
from tests.trust.conftest import SPEAKER_OF_KIND
from tests.trust.hall import OTHER_GATEWAY, SecuredHall, envelope
from tests.trust.samples import (
    CASE_ORDER,
    OFFICER,
    OTHER_HALL,
    SAMPLES,
    UNIT,
    WINDOW,
    Who,
    case_fact,
    case_id,
    entry,
    sample,
)

pytestmark = pytest.mark.xdist_group("trust")


def in_stating_order() -> list[str]:
    """Every type; a case's facts after its entry (a window states them in that order)."""
    return [*CASE_ORDER, *sorted(set(all_specs()) - set(CASE_ORDER))]


def speaker(kind: str) -> Who:
    device = SPEAKER_OF_KIND[kind]
    return Who(device, kind, WINDOW if kind in ("caller", "rating") else None)


def test_every_event_type_has_a_sample_and_an_authority() -> None:
    assert set(SAMPLES) == set(all_specs())
    for name, spec in all_specs().items():
        assert spec.authority.authors, name
        spec.body.model_validate(sample(name, speaker("caller")))


def test_facts_only_the_gateway_states_are_never_accepted_from_a_device() -> None:
    # Ratings recorded, visits called and served, presence, activation, receipt stamps.
    for name in ("rating.recorded", "queue.called", "queue.served", "device.online", "device.offline",
                 "device.state_changed", "security.refused"):
        assert spec_for(name).authority.authors == {Author.GATEWAY}, name


def test_every_device_kind_states_every_event_type(hall: SecuredHall) -> None:
    stated: list[tuple[str, str, str, bool]] = []
    for kind in SPEAKER_OF_KIND:
        who = speaker(kind)
        case = case_id()
        for name in in_stating_order():
            allowed = spec_for(name).authority.allows(Author(kind))
            stated.append((kind, name, hall.state(who.device, name, sample(name, who, case)), allowed))
    hall.wait_settled(event_id for *_, event_id, _ in stated)
    # Refused events never reach central; once every stored one is there, none of them can follow.
    wrong = []
    for kind, name, event_id, allowed in stated:
        expected = ("stored", "stored") if allowed else ("refused", None)
        found = (hall.at_gateway(event_id), hall.at_central(event_id))
        if found != expected:
            wrong.append(f"{kind:9} {name:28} expected {expected}, found {found}: "
                         f"{hall.gateway_reason(event_id) or hall.central_reason(event_id)}")
        elif not allowed and f"a {kind} may not state {name}" not in hall.gateway_reason(event_id):
            wrong.append(f"{kind:9} {name:28} refused for another reason: {hall.gateway_reason(event_id)}")
    assert not wrong, "\n".join(wrong)
    assert sum(allowed for *_, allowed in stated) > 40  # the table lets devices say a great deal

    refused = {event_id for *_, event_id, allowed in stated if not allowed}
    wait_until(lambda: refused <= {b.get("event_id") for b in hall.central_bodies("security.refused")}, 60,
               "central to hear of every refusal as a security event")
    raised = {b["event_id"]: b for b in hall.gateway_bodies("security.refused")}
    assert all(raised[e]["device"] in SPEAKER_OF_KIND.values() for e in refused)


def stamped_by_other_gateway(kind: Author, device: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """An event as hall-02's gateway forwards it: its stamp names the author it says it verified."""
    if kind is Author.GATEWAY:
        return envelope(OTHER_GATEWAY, name, body, recv=Received(by=OTHER_GATEWAY, at=0, kind=Author.GATEWAY))
    window = WINDOW if kind in (Author.CALLER, Author.RATING) else None
    officer, unit = (OFFICER, UNIT) if kind is Author.CALLER else (None, None)
    return envelope(device, name, body, recv=Received(by=OTHER_GATEWAY, at=0, kind=kind, window=window,
                                                      officer=officer, unit=unit))


def test_central_applies_the_table_again_to_what_a_gateway_forwards(hall: SecuredHall) -> None:
    with hall.api("office") as office:
        # A case of hall-02 and 自然资源局, entered by the supervision office.
        known = case_id()
        who = Who("office", "api_client", hall=OTHER_HALL)
        assert office.post("/api/cases", json=entry(who, known, by="office")).status_code == 201
    forwarded: list[tuple[Author, str, str, bool]] = []
    batch = []
    for author in Author:
        device = OTHER_GATEWAY if author is Author.GATEWAY else f"{author.value.replace('_', '-')}-h2"
        who = Who(device, author.value, WINDOW if author in (Author.CALLER, Author.RATING) else None,
                  hall=OTHER_HALL)
        fresh = case_id()
        for name in in_stating_order():
            # A window's case facts: its entry of a new case, then facts of the office's case.
            case = fresh if name == "case.accepted" else known
            forwardable = author in DEVICE_AUTHORS or author is Author.GATEWAY
            allowed = spec_for(name).authority.allows(author) and forwardable
            event = stamped_by_other_gateway(author, device, name, sample(name, who, case))
            batch.append(event)
            forwarded.append((author, name, event["id"], allowed))
    hall.publish_as_other_gateway(batch)
    wait_until(lambda: all(hall.at_central(e) for _, _, e, _ in forwarded), 60,
               "central to store or refuse everything hall-02's gateway sent")
    wrong = [f"{author.value:10} {name:28} expected {'stored' if allowed else 'refused'}, found "
             f"{hall.at_central(event_id)}: {hall.central_reason(event_id)}"
             for author, name, event_id, allowed in forwarded
             if hall.at_central(event_id) != ("stored" if allowed else "refused")]
    assert not wrong, "\n".join(wrong)


def test_a_window_states_case_facts_only_by_its_logged_in_officer(hall: SecuredHall) -> None:
    who = speaker("caller")
    case = case_id()
    forged_by = hall.state(who.device, "case.accepted", entry(who, case, by="off-someone-else"))
    hall.wait_settled([forged_by])
    assert hall.at_gateway(forged_by) == "refused"
    assert "is not the officer logged in at window 7 (off-7)" in hall.gateway_reason(forged_by)


def test_central_trusts_a_gateway_only_for_its_own_hall(hall: SecuredHall) -> None:
    with hall.api("office") as office:
        hall_01_case = case_id()
        office.post("/api/cases", json=entry(Who("office", "api_client"), hall_01_case, by="office"))
    window = Who("caller-h2", "caller", WINDOW, hall=OTHER_HALL)
    gateway = Who(OTHER_GATEWAY, "gateway", hall=OTHER_HALL)
    caller_stamp = Received(by=OTHER_GATEWAY, at=0, kind=Author.CALLER, window=WINDOW, officer=OFFICER,
                            unit=UNIT)
    ready = {"state": "ready", "printable": True}
    lies = {
        "about another hall": stamped_by_other_gateway(
            Author.GATEWAY, OTHER_GATEWAY, "rating.recorded",
            sample("rating.recorded", gateway) | {"hall": "hall-01"}),
        "no receipt stamp": envelope("kiosk-h2", "queue.printer_status", ready),
        "another gateway's stamp": envelope("kiosk-h2", "queue.printer_status", ready,
                                            recv=Received(by="gw-hall-01", at=0, kind=Author.KIOSK)),
        "another hall's case": envelope("caller-h2", "case.suspended",
                                        case_fact(window, hall_01_case, reason="hearing"), recv=caller_stamp),
        "a case entered in another hall": envelope(
            "caller-h2", "case.accepted", entry(window, case_id(), hall="hall-01"), recv=caller_stamp),
        "a window's fact stamped for another window": envelope(
            "caller-h2", "queue.window_action", sample("queue.window_action", window) | {"window": "9"},
            recv=caller_stamp),
    }
    hall.publish_as_other_gateway(list(lies.values()))
    wait_until(lambda: all(hall.at_central(e["id"]) for e in lies.values()), 30, "central to decide")
    stored = [what for what, event in lies.items() if hall.at_central(event["id"]) != "refused"]
    assert not stored, stored
    assert "of hall 'hall-01'" in hall.central_reason(lies["another hall's case"]["id"])

    # A batch on hall-02's topic in hall-01's gateway's name is refused whole.
    impostor = envelope("gw-hall-01", "device.online", {"device": "kiosk-1", "kind": "kiosk"},
                        recv=Received(by="gw-hall-01", at=0, kind=Author.GATEWAY))
    hall.publish_as_other_gateway([impostor], sender="gw-hall-01")
    wait_until(lambda: hall.central.store.query(
        "SELECT 1 FROM security_alarms WHERE refused_by = 'central' AND device = 'gw-hall-01'"), 30,
        "central to refuse the impostor's batch")
    assert hall.at_central(impostor["id"]) is None
