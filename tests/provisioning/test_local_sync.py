"""A single-box hall (broker, gateway and the provisioning tool on one machine): the registry
reaches the gateway's tables the way a technician carries it there, and the broker's logins follow."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from hallwatch.cli import main
from provisioning.model import DeviceKind
from provisioning.syncconfig import load_sync
from provisioning.workflow import Delivery
from tests.provisioning.conftest import HALL, TECHNICIAN, make_provisioner


def test_a_device_added_on_a_single_box_hall_is_known_to_its_gateway_and_its_broker(tmp_path: Path) -> None:
    store, broker_dir = tmp_path / "var" / "gateway.sqlite", tmp_path / "var" / "broker"
    provisioner = make_provisioner(tmp_path)
    (provisioner.home.root / "sync.toml").write_text(
        f'mode = "local"\nbroker_dir = "{broker_dir}"\ngateway_store = "{store}"\nreload = "none"\n'
    )
    provisioner.sync = load_sync(provisioner.home)
    try:
        provisioner.create_hall(HALL, "Service centre", "gw-hall-01", ["localhost"], 8883, by=TECHNICIAN)
        handover = provisioner.add_device(HALL, DeviceKind.SIM, Delivery(directory=tmp_path / "card"),
                                          by=TECHNICIAN)
    finally:
        provisioner.close()

    assert handover.synced
    shown = CliRunner().invoke(main, ["gateway", "devices", "--store", str(store)])
    assert shown.exit_code == 0, shown.output
    assert f"{handover.device.id}\tprovisioned\tsim" in shown.output
    assert f"{handover.device.id}:$7$" in (broker_dir / "passwords").read_text()


def test_applying_a_registry_on_the_gateway_refuses_what_it_cannot_use(tmp_path: Path) -> None:
    state = tmp_path / "hall-state.json"
    state.write_text('{"command": "registry.sync", "hall": "hall-01"}')
    runner = CliRunner()

    wrong_reload = runner.invoke(main, ["gateway", "apply-registry", str(state), "--reload", "sighup"])
    not_a_registry = runner.invoke(main, ["gateway", "apply-registry", str(state), "--store",
                                          str(tmp_path / "gw.sqlite"), "--reload", "none"])

    assert wrong_reload.exit_code != 0 and "systemd:UNIT, pid:PID or none" in wrong_reload.output
    assert not_a_registry.exit_code != 0 and "is not a hall registry" in not_a_registry.output
    assert not (tmp_path / "gw.sqlite").exists()
