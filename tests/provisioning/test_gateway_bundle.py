"""A gateway Pi from its bundle: installed, its own Mosquitto started from the generated files."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from central.config import CentralConfig
from gateway.config import GatewayConfig
from hallwatch.cli import main
from provisioning.bundle import Layout, install_bundle
from provisioning.model import DeviceKind
from provisioning.services import CentralEndpoint, central_bundle, gateway_bundle
from provisioning.workflow import Delivery
from spine.broker.runner import free_port
from spine.config import load_config
from spine.files import write_directory_atomic
from tests.provisioning.conftest import HALL, TECHNICIAN, connect, make_provisioner, password_in
from tests.support import wait_until


@pytest.fixture
def mosquitto() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def test_an_installed_gateway_bundle_runs_a_broker_that_admits_the_halls_devices_only(
    tmp_path: Path, mosquitto: list[subprocess.Popen[bytes]]
) -> None:
    tls_port, local_port = free_port(), free_port()
    provisioner = make_provisioner(tmp_path)
    provisioner.create_hall(HALL, "Service centre", "gw-hall-01", ["localhost", "127.0.0.1"], tls_port,
                            by=TECHNICIAN)
    kiosk = provisioner.add_device(HALL, DeviceKind.SIM, Delivery(directory=tmp_path / "card"), by=TECHNICIAN)
    gw = Layout(tmp_path / "gw" / "etc", tmp_path / "gw" / "var")
    files = gateway_bundle(provisioner, HALL, CentralEndpoint("central.example", 8883), by=TECHNICIAN,
                           layout=gw, local_port=local_port)
    write_directory_atomic(tmp_path / "gw-card", files)
    installed = install_bundle(tmp_path / "gw-card")
    assert installed.units == ("hallwatch-broker.service", "hallwatch-gateway.service")
    config = load_config(GatewayConfig, gw.etc / "gateway.toml")
    assert config.hall_broker.username == "gw-hall-01-ingest" and config.central_broker.tls_ca is not None
    assert config.broker_access_dir == gw.var / "broker"  # where registry syncs rewrite the logins
    applied = CliRunner().invoke(main, ["gateway", "apply-registry", str(gw.var / "hall-state.json"),
                                        "--store", str(config.store_path), "--broker-dir",
                                        str(gw.var / "broker"), "--reload", "none"])
    assert applied.exit_code == 0, applied.output

    conf = (gw.etc / "mosquitto.conf").read_text()
    if os.geteuid() == 0:  # systemd starts it as the hallwatch user; as root it would drop privileges
        conf = "user root\n" + conf
    (tmp_path / "mosquitto.conf").write_text(conf)
    (gw.var / "mosquitto").mkdir(parents=True, exist_ok=True)
    log = open(tmp_path / "mosquitto.log", "wb")  # noqa: SIM115 - handed to the child
    mosquitto.append(subprocess.Popen(["mosquitto", "-c", str(tmp_path / "mosquitto.conf")], stdout=log,
                                      stderr=subprocess.STDOUT))
    wait_until(lambda: listening(tls_port) and listening(local_port), 15, "the gateway's broker")

    device = connect(tls_port, kiosk.device.id, password_in(kiosk), ca=tmp_path / "card" / "ca.crt")
    gateway = connect(local_port, "gw-hall-01-ingest", config.hall_broker.resolved_password() or "")
    stranger = connect(local_port, "kiosk-hall-99-001", "guess")
    try:
        assert str(device.connack) == "Success" and str(gateway.connack) == "Success"
        assert str(stranger.connack) != "Success"
    finally:
        for probe in (device, gateway, stranger):
            probe.close()
    state = config.store_path
    devices = CliRunner().invoke(main, ["gateway", "devices", "--store", str(state)]).output
    assert f"{kiosk.device.id}\tprovisioned" in devices and "no self-test yet" in devices


def test_central_bundle_configures_central_and_lets_the_tool_push_registries(tmp_path: Path) -> None:
    provisioner = make_provisioner(tmp_path)
    provisioner.create_hall(HALL, "Service centre", "gw-hall-01", ["localhost"], 8883, by=TECHNICIAN)
    layout = Layout(tmp_path / "c" / "etc", tmp_path / "c" / "var")
    files = central_bundle(provisioner, ["central.example"], by=TECHNICIAN, layout=layout)
    write_directory_atomic(tmp_path / "central-card", files)
    install_bundle(tmp_path / "central-card")
    config = load_config(CentralConfig, layout.etc / "central.toml")
    assert [(h.hall, h.gateway) for h in config.ingest.halls] == [(HALL, "gw-hall-01")]
    assert (provisioner.home.root / "sync.toml").read_text().startswith('mode = "mqtt"')
    acl = (layout.var / "broker" / "acl").read_text()
    assert "user central-provisioner\ntopic write central/+/cmd" in acl
