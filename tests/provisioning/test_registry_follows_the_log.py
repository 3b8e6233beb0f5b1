"""The provisioning registry follows the gateways' activation reports in central's event log,
whichever central process stored them (issue #17: with a shared ingest group, the process beside
the registry stores only its share of the batches), the same on SQLite and on PostgreSQL: each
report applied once, a stale or foreign one never, the position kept with the registry."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central.service import CentralService
from central.store import CentralStore
from contract.envelope import Batch, Envelope, Received
from hallwatch.roots import PAGE, RegistryFollower, registry_followers
from provisioning.model import DeviceKind, DeviceState
from provisioning.workflow import Delivery, Provisioner
from spine.clock import SimulatedClock
from spine.receiver import AcceptedEvent, IncomingBatch
from spine.storeurl import StoreUrl
from tests.central.conftest import central_config
from tests.provisioning.conftest import GATEWAY, HALL, SETTINGS, TECHNICIAN, make_provisioner

T0 = 1_780_000_000_000


@pytest.fixture
def store(store_url: StoreUrl) -> Iterator[CentralStore]:
    """Central's event store, as another central process writes it."""
    store = CentralStore(store_url, SimulatedClock(T0))
    yield store
    store.close()


@pytest.fixture
def provisioner(tmp_path: Path) -> Provisioner:
    provisioner = make_provisioner(tmp_path)
    provisioner.create_hall(HALL, "Service centre", GATEWAY, ["localhost"], 8883, by=TECHNICIAN)
    return provisioner


def _new_device(provisioner: Provisioner, tmp_path: Path, n: int) -> str:
    handover = provisioner.add_device(HALL, DeviceKind.SIM, Delivery(directory=tmp_path / f"card-{n}"),
                                      by=TECHNICIAN, hardware=SETTINGS.get(DeviceKind.SIM, {}))
    return handover.device.id


def _state_changed(seq: int, device: str, state: str, version: int | None = 1) -> Envelope:
    body: dict[str, Any] = {"device": device, "state": state, "previous": "provisioned",
                            "reason": "self-test passed"}
    if version is not None:
        body["credential_version"] = version
    return Envelope(v=1, id=uuid.uuid4().hex, device=GATEWAY, seq=seq, boot="boot0001", time=T0 + seq,
                    mono=0, type="device.state_changed", body=body,
                    recv=Received(by=GATEWAY, at=T0 + seq, est_time=T0 + seq))


def _heartbeat(seq: int) -> Envelope:
    return Envelope(v=1, id=uuid.uuid4().hex, device=GATEWAY, seq=seq, boot="boot0001", time=T0 + seq,
                    mono=0, type="gateway.heartbeat", body={"n": seq},
                    recv=Received(by=GATEWAY, at=T0 + seq, est_time=T0 + seq))


def _stored(store: CentralStore, envelopes: list[Envelope], hall: str = HALL) -> None:
    batch = Batch(v=1, batch=uuid.uuid4().hex, sender=GATEWAY, boot="boot0001", sent_at=0, sent_mono=0,
                  events=[e.model_dump() for e in envelopes])
    incoming = IncomingBatch(topic=f"central/{hall}/events", batch=batch, received_at=0,
                             events=[AcceptedEvent(e, e.model_dump_json(), True) for e in envelopes])
    assert store.commit(incoming, [])[0] == len(envelopes)


def _activations(provisioner: Provisioner, device: str) -> int:
    return sum(1 for entry in provisioner.registry.audit_log(device) if entry["action"] == "device.activate")


def test_a_report_stored_by_any_process_activates_the_device_once(
        store: CentralStore, store_url: StoreUrl, provisioner: Provisioner, tmp_path: Path) -> None:
    first, second = _new_device(provisioner, tmp_path, 1), _new_device(provisioner, tmp_path, 2)
    registry = provisioner.home.registry_path
    follower = RegistryFollower(registry, str(store_url))
    _stored(store, [_heartbeat(1), _state_changed(2, first, "active"), _heartbeat(3)])
    follower.follow(store)
    assert provisioner.registry.device(first).state == DeviceState.ACTIVE
    assert provisioner.registry.device(second).state == DeviceState.PROVISIONED
    # Read again by this follower and by a new one (a restarted central): applied once.
    follower.follow(store)
    RegistryFollower(registry, str(store_url)).follow(store)
    assert _activations(provisioner, first) == 1
    # Later reports are read from where the last pass ended, past more than a page of others.
    _stored(store, [_heartbeat(4 + n) for n in range(PAGE + 3)])
    _stored(store, [_state_changed(PAGE + 10, second, "active")])
    follower.follow(store)
    assert provisioner.registry.device(second).state == DeviceState.ACTIVE
    assert _activations(provisioner, second) == 1


def test_a_stale_a_foreign_or_a_non_activation_report_changes_nothing(
        store: CentralStore, store_url: StoreUrl, provisioner: Provisioner, tmp_path: Path) -> None:
    device = _new_device(provisioner, tmp_path, 1)
    _stored(store, [_state_changed(1, device, "active", version=0),  # credentials replaced since
                    _state_changed(2, device, "offline"),
                    _state_changed(3, "sim-nobody", "active")])
    _stored(store, [_state_changed(4, device, "active")], hall="hall-02")  # another hall's stream
    RegistryFollower(provisioner.home.registry_path, str(store_url)).follow(store)
    assert provisioner.registry.device(device).state == DeviceState.PROVISIONED
    assert _activations(provisioner, device) == 0


def test_central_run_is_given_the_follower_only_where_the_registry_is_named(tmp_path: Path) -> None:
    config = central_config(tmp_path, 1883)
    assert registry_followers(config) == []
    named = config.model_copy(update={"provisioning_registry": tmp_path / "registry.sqlite"})
    [follower] = registry_followers(named)
    assert follower.name == "provisioning registry"


def test_central_s_tick_applies_what_its_log_holds_and_a_failing_follower_stops_nothing(
        tmp_path: Path, provisioner: Provisioner, caplog: pytest.LogCaptureFixture) -> None:
    device = _new_device(provisioner, tmp_path, 1)
    config = central_config(tmp_path, 1883).model_copy(
        update={"provisioning_registry": provisioner.home.registry_path})

    class Broken:
        name = "broken role"

        def follow(self, events: object) -> None:
            raise RuntimeError("its file is gone")

    service = CentralService(config, followers=[Broken(), *registry_followers(config)])
    try:
        _stored(service.store, [_state_changed(1, device, "active")])
        service.tick()
    finally:
        service.stop()
    assert provisioner.registry.device(device).state == DeviceState.ACTIVE
    assert any("broken role failed" in r.getMessage() for r in caplog.records)
