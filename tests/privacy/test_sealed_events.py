"""Central's event log stores the personal fields the contract names only sealed; the handlers of the same
commit still see the event as it arrived."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from central.personal import Reader, vault
from central.personal.events import SealingEventStore, sealed_event
from contract.catalog import spec_for
from contract.envelope import Envelope, Received
from contract.privacy import PERSONAL_FIELDS, PersonalKind
from spine.clock import SimulatedClock
from spine.receiver import AcceptedEvent
from tests.privacy.conftest import CITIZEN, OFFICER, case_entry


def test_every_personal_field_the_contract_names_is_a_field_of_its_event_body() -> None:
    for type, fields in PERSONAL_FIELDS.items():
        body = spec_for(type).body
        for path in fields:
            assert path.split(".")[0] in body.model_fields, (type, path)


def _event(type: str, body: dict[str, object]) -> AcceptedEvent:
    envelope = Envelope(v=1, id=uuid.uuid4().hex, device="gw-hall-01", seq=1, boot="boot0001", time=1,
                        mono=0, type=type, body=body, recv=Received(by="gw-hall-01", at=1))
    return AcceptedEvent(envelope, envelope.model_dump_json(), True)


def test_the_stored_payload_is_sealed_and_the_handlers_event_is_not(tmp_path: Path) -> None:
    store = SealingEventStore(tmp_path / "events.sqlite", SimulatedClock())
    try:
        entry = case_entry("PD-0300", "张三丰", CITIZEN)
        correction = {"case_id": "PD-0300", "by": "w03", "corrects": 2,
                      "reason": "号码错了，应为 138 1111 0002",
                      "changes": {"contact_phone": CITIZEN, "contact_name": "张三丰"}}
        rating = _event("rating.given", {"grade": "satisfied"})
        with store.transaction() as tx:
            accepted = sealed_event(tx, "hall-01", _event("case.accepted", entry))
            corrected = sealed_event(tx, "hall-01", _event("case.corrected", correction))
            assert sealed_event(tx, "hall-01", rating) is rating  # nothing personal: stored as it came
        assert accepted.envelope.body["contact_phone"] == CITIZEN  # what the handlers get
        for event in (accepted, corrected):
            assert "1111" not in event.payload and "张三丰" not in event.payload
        stored = json.loads(corrected.payload)["body"]
        reader = Reader(store.query)
        assert reader.clear("case:PD-0300", stored["changes"]["contact_phone"]) == CITIZEN
        assert reader.masked("case:PD-0300", stored["reason"]) == "号码错了，应为 138****0002"
        # The officer's work number is sealed, but a citizen's request does not find the case by it.
        assert vault.subjects_holding(store.query, PersonalKind.MOBILE, OFFICER) == []
        assert vault.subjects_holding(store.query, PersonalKind.MOBILE, CITIZEN) == ["case:PD-0300"]
    finally:
        store.close()
