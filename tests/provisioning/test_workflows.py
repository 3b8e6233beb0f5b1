"""The technician's operations: whole bundles, explicit re-provisioning, replacement, rollback."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from edge.rating_terminal.config import RatingTerminalConfig
from provisioning import enrolment
from provisioning.bundle import PASSWORD_FILE, install_bundle
from provisioning.model import DeviceKind, DeviceState
from provisioning.passwords import verify
from provisioning.registry import RegistryError
from provisioning.workflow import Delivery, Provisioner
from spine.files import IncompleteBundle, verify_directory
from tests.provisioning.conftest import (
    HALL,
    TECHNICIAN,
    ProvisionedHall,
    connect,
    make_provisioner,
    password_in,
)
from tests.support import wait_until


@pytest.fixture
def provisioner(tmp_path: Path) -> Provisioner:
    p = make_provisioner(tmp_path)
    p.create_hall(HALL, "Service centre", "gw-hall-01", ["gw.hall-01.local"], 8883, by=TECHNICIAN)
    p.add_windows(HALL, [("w01", "Window 1", None)], by=TECHNICIAN)
    return p


def card(tmp_path: Path, name: str = "card") -> Delivery:
    return Delivery(directory=tmp_path / name / "hallwatch")


def test_a_new_device_gets_a_stable_id_a_label_and_a_complete_bundle(
    provisioner: Provisioner, tmp_path: Path
) -> None:
    settings = {"keypad": {"kind": "gpio", "keys": {"1": 5, "2": 6, "3": 13}}, "uplink": {"heartbeat_s": 10}}
    handover = provisioner.add_device(HALL, DeviceKind.RATING, card(tmp_path), by=TECHNICIAN, window="w01",
                                      serial="SN-0001", hardware=settings)
    device = handover.device
    assert device.id == "rating-hall-01-001" and device.state == DeviceState.PROVISIONED
    assert handover.bundle_dir is not None and handover.label is not None
    manifest = verify_directory(handover.bundle_dir)
    assert {"agent.toml", "ca.crt", PASSWORD_FILE, "bundle.json"} <= set(manifest)
    # The agent's own configuration model reads the bundle: identity, broker, and its hardware sections.
    text = (handover.bundle_dir / "agent.toml").read_text()
    agent = RatingTerminalConfig.model_validate(tomllib.loads(text))
    assert (agent.device.id, agent.device.window, agent.device.kind) == (device.id, "w01", "rating")
    assert (agent.broker.host, agent.broker.username) == ("gw.hall-01.local", device.id)
    assert agent.broker.password_file == tmp_path / "var" / PASSWORD_FILE
    assert agent.keypad.kind == "gpio" and agent.uplink.heartbeat_s == 10
    assert handover.label.read_bytes().startswith(b"\x89PNG")
    password = password_in(handover)
    assert len(password) >= 40
    stored = provisioner.registry.password_hash(device.id)
    assert stored is not None and verify(password, stored)
    assert password.encode() not in provisioner.home.registry_path.read_bytes()
    # The next device of the kind gets the next number; numbers are never reused.
    second = provisioner.add_device(HALL, DeviceKind.RATING, card(tmp_path, "two"), by=TECHNICIAN,
                                    window="w01", hardware=settings)
    assert second.device.id == "rating-hall-01-002"


def test_settings_the_agent_would_refuse_are_refused_at_provisioning_with_every_reason(
    provisioner: Provisioner, tmp_path: Path
) -> None:
    wrong = {"services": [{"prefix": "a", "name": "综合"}], "printer": {"kind": "usb"}}
    with pytest.raises(RegistryError) as refused:
        provisioner.add_device(HALL, DeviceKind.KIOSK, card(tmp_path), by=TECHNICIAN, hardware=wrong)
    assert "services.0.prefix" in str(refused.value) and "usb_vendor" in str(refused.value)
    with pytest.raises(RegistryError, match="may not set broker"):
        provisioner.add_device(HALL, DeviceKind.SIM, card(tmp_path), by=TECHNICIAN,
                               hardware={"broker": {"username": "someone-else"}})
    assert provisioner.registry.devices() == [] and not (tmp_path / "card").exists()


def test_a_device_serving_a_window_needs_one_that_exists(provisioner: Provisioner, tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="window"):
        provisioner.add_device(HALL, DeviceKind.RATING, card(tmp_path), by=TECHNICIAN)
    with pytest.raises(RegistryError, match="no window 'w99'"):
        provisioner.add_device(HALL, DeviceKind.RATING, card(tmp_path), by=TECHNICIAN, window="w99")


def test_only_a_registered_technician_of_the_hall_may_add_devices(
    provisioner: Provisioner, tmp_path: Path
) -> None:
    with pytest.raises(RegistryError, match="not a registered technician"):
        provisioner.add_device(HALL, DeviceKind.SIM, card(tmp_path), by="somebody")
    with pytest.raises(RegistryError, match="--by"):
        provisioner.add_device(HALL, DeviceKind.SIM, card(tmp_path), by=None)
    assert provisioner.registry.devices() == []


def test_the_same_serial_is_not_added_twice_and_the_refusal_says_how_to_reprovision(
    provisioner: Provisioner, tmp_path: Path
) -> None:
    first = provisioner.add_device(HALL, DeviceKind.SIM, card(tmp_path), by=TECHNICIAN, serial="SN-7")
    with pytest.raises(RegistryError, match=f"hall provision device reprovision {first.device.id}"):
        provisioner.add_device(HALL, DeviceKind.SIM, card(tmp_path, "again"), by=TECHNICIAN,
                               serial="SN-7")
    assert [d.id for d in provisioner.registry.devices()] == [first.device.id]


def test_reprovisioning_is_authorised_and_rotates_the_secret(
    provisioner: Provisioner, tmp_path: Path
) -> None:
    first = provisioner.add_device(HALL, DeviceKind.SIM, card(tmp_path), by=TECHNICIAN, serial="SN-7")
    old_password = password_in(first)
    with provisioner.registry.transaction() as tx:
        provisioner.registry.set_state(tx, first.device.id, DeviceState.ACTIVE)
    with pytest.raises(RegistryError, match="may not re-provision"):
        provisioner.reprovision(first.device.id, card(tmp_path, "reset"), by="tech-new")
    again = provisioner.reprovision(first.device.id, card(tmp_path, "reset"), by=TECHNICIAN)
    assert again.device.id == first.device.id and again.device.serial == "SN-7"
    assert again.device.state == DeviceState.PROVISIONED  # must pass its self-test again
    assert again.device.credential_version == first.device.credential_version + 1
    stored = provisioner.registry.password_hash(first.device.id)
    assert stored is not None and verify(password_in(again), stored) and not verify(old_password, stored)
    actions = [entry["action"] for entry in provisioner.registry.audit_log(first.device.id)]
    assert actions == ["device.register", "device.add", "device.reprovision"]
    assert provisioner.registry.audit_log(first.device.id)[-1]["actor"] == TECHNICIAN


def test_a_replacement_takes_over_the_identity_and_the_old_hardware_is_locked_out(
    hall: ProvisionedHall,
) -> None:
    old = hall.add(serial="SN-OLD")
    old_probe = hall.connect_device(old)
    assert str(old_probe.connack) == "Success"
    new = hall.provisioner.replace(old.device.id, "SN-NEW", card(hall.root, "new-card"), by=TECHNICIAN)
    assert new.device.id == old.device.id and new.device.serial == "SN-NEW"
    assert new.device.state == DeviceState.PROVISIONED
    wait_until(lambda: not old_probe.connected, 15, "the broker to drop the old hardware")
    refused = connect(hall.broker.port, old.device.id, password_in(old))
    refused.close()
    assert str(refused.connack) != "Success"
    assert str(hall.connect_device(new).connack) == "Success"
    # The freed serial is the new one's; the old serial may be registered again as a new device.
    assert hall.provisioner.registry.device_by_serial("SN-NEW") == new.device


class PulledCard(Exception):
    pass


def test_an_aborted_setup_leaves_no_device_no_login_and_no_bundle(
    hall: ProvisionedHall, monkeypatch: pytest.MonkeyPatch
) -> None:
    import spine.files as files

    real = files.write_file_atomic
    written: list[Path] = []

    def pull_the_card_after_two_files(path: Path, data: bytes, *, secret: bool = False) -> None:
        if len(written) == 2:
            raise PulledCard("the card was pulled")
        written.append(path)
        real(path, data, secret=secret)

    monkeypatch.setattr(files, "write_file_atomic", pull_the_card_after_two_files)
    target = hall.root / "aborted" / "hallwatch"
    before = (hall.root / "broker-auth" / "passwords").read_text()
    with pytest.raises(PulledCard):
        hall.provisioner.add_device(HALL, DeviceKind.SIM, Delivery(directory=target), by=TECHNICIAN,
                                    serial="SN-HALF")
    assert written, "the failure happened mid-bundle"
    assert hall.provisioner.registry.devices() == []
    assert hall.provisioner.registry.device_by_serial("SN-HALF") is None
    assert not target.exists() and list((hall.root / "aborted").iterdir()) == []
    assert (hall.root / "broker-auth" / "passwords").read_text() == before
    monkeypatch.undo()
    # Nothing was used up: the retry gets the first number, and the serial is free.
    retry = hall.add(serial="SN-HALF")
    assert retry.device.id == "sim-hall-01-001"


def test_a_bundle_cut_short_is_refused_at_install(provisioner: Provisioner, tmp_path: Path) -> None:
    handover = provisioner.add_device(HALL, DeviceKind.SIM, card(tmp_path), by=TECHNICIAN)
    assert handover.bundle_dir is not None
    (handover.bundle_dir / "agent.toml").write_text("[device]\n")
    with pytest.raises(IncompleteBundle, match="agent.toml"):
        install_bundle(handover.bundle_dir)
    assert not (tmp_path / "etc" / "agent.toml").exists()


def test_install_puts_the_secret_under_the_data_directory_and_wipes_it_from_the_card(
    provisioner: Provisioner, tmp_path: Path
) -> None:
    handover = provisioner.add_device(HALL, DeviceKind.SIM, card(tmp_path), by=TECHNICIAN)
    assert handover.bundle_dir is not None
    password = password_in(handover)
    installed = install_bundle(handover.bundle_dir)
    secret = tmp_path / "var" / PASSWORD_FILE
    assert secret.read_text().strip() == password and secret.stat().st_mode & 0o777 == 0o600
    assert installed.config == tmp_path / "etc" / "agent.toml"
    assert not (handover.bundle_dir / PASSWORD_FILE).exists()
    with pytest.raises(IncompleteBundle, match="installed already"):
        install_bundle(handover.bundle_dir)


def test_an_enrolment_code_opens_the_bundle_once_and_only_before_it_expires(
    provisioner: Provisioner, tmp_path: Path
) -> None:
    handover = provisioner.add_device(HALL, DeviceKind.SIM, Delivery(enrol=True), by=TECHNICIAN)
    code = handover.enrolment_code
    assert code is not None and handover.bundle_dir is None
    assert code.encode() not in provisioner.home.registry_path.read_bytes()
    sealed = provisioner.take_sealed(enrolment.lookup_of(code.lower()), by="test")
    files = enrolment.unseal(sealed, code)
    assert f'id = "{handover.device.id}"'.encode() in files["agent.toml"].data
    stored = provisioner.registry.password_hash(handover.device.id)
    assert stored is not None and verify(files[PASSWORD_FILE].data.decode().strip(), stored)
    with pytest.raises(enrolment.EnrolmentError, match="already used"):
        provisioner.take_sealed(enrolment.lookup_of(code), by="test")
    late = provisioner.rotate(handover.device.id, Delivery(enrol=True, enrol_ttl_s=-1), by=TECHNICIAN)
    assert late.enrolment_code is not None
    with pytest.raises(enrolment.EnrolmentError, match="expired"):
        provisioner.take_sealed(enrolment.lookup_of(late.enrolment_code), by="test")
    with pytest.raises(enrolment.EnrolmentError):
        enrolment.unseal(sealed, enrolment.new_code())


def test_a_retired_device_keeps_its_id_forever(provisioner: Provisioner, tmp_path: Path) -> None:
    handover = provisioner.add_device(HALL, DeviceKind.SIM, card(tmp_path), by=TECHNICIAN, serial="SN-1")
    provisioner.retire(handover.device.id, by=TECHNICIAN, reason="broken screen")
    with pytest.raises(RegistryError, match="retired"):
        provisioner.reprovision(handover.device.id, card(tmp_path, "x"), by=TECHNICIAN)
    newcomer = provisioner.add_device(HALL, DeviceKind.SIM, card(tmp_path, "y"), by=TECHNICIAN,
                                      serial="SN-1")
    assert newcomer.device.id == "sim-hall-01-002"
