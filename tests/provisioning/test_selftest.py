"""A device counts only after its self-test passes at the gateway; configuration follows the registry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from contract.commands.registry import DeviceConfig
from contract.kinds import BrokerRole
from edge.runtime.agent import AgentConfig, EdgeAgent
from edge.runtime.config_push import ConfigApplier
from edge.runtime.selftest import SelfTest, Step, StepFailed, run_step
from gateway.config import BrokerAccess, GatewayConfig, GatewayIdentity
from gateway.service import GatewayService
from hallwatch.cli import main
from provisioning.bundle import install_bundle
from provisioning.central import ActivationReport, RegistryActivations
from provisioning.hallstate import build_hall_state
from provisioning.model import DeviceKind, DeviceState
from provisioning.roles import config_model
from provisioning.workflow import Delivery
from spine.broker.access import central_user, gateway_forward_user, gateway_ingest_user
from spine.config import BrokerSettings, UplinkSettings, load_config
from tests.provisioning.conftest import GATEWAY, HALL, TECHNICIAN, ProvisionedHall
from tests.support import wait_until

FAST = UplinkSettings.model_validate({"heartbeat_s": 1, "ack_timeout_s": 3})


@pytest.fixture
def gateway(hall: ProvisionedHall) -> Iterator[GatewayService]:
    """The hall gateway, logged in with its own generated credentials on both sides."""
    assert hall.broker.process is not None
    hall.provisioner.central_login(central_user("central"), BrokerRole.CENTRAL, by=TECHNICIAN)
    hall.provisioner.sync_hall(HALL)  # central's login joins the broker's password file

    def login(user: str) -> BrokerSettings:
        return BrokerSettings.model_validate(
            {"port": hall.broker.port, "username": user, "password": hall.gateway_passwords[user]}
        )

    config = GatewayConfig(
        gateway=GatewayIdentity(id=GATEWAY, hall=HALL),
        hall_broker=login(gateway_ingest_user(GATEWAY)),
        central_broker=login(gateway_forward_user(GATEWAY)),
        store_path=hall.root / "gateway" / "gateway.sqlite",
        uplink=FAST,
        broker_access=BrokerAccess(directory=hall.root / "broker-auth",
                                   reload=f"pid:{hall.broker.process.pid}"),
    )
    service = GatewayService(config)
    service.start()
    wait_until(lambda: service.client.is_connected(), 15, "the gateway to log in to the hall broker")
    yield service
    service.stop()


def sync_through_gateway(hall: ProvisionedHall, gateway: GatewayService) -> None:
    """What central's `registry.sync` command does on arrival."""
    state = build_hall_state(hall.provisioner.registry, HALL)
    gateway.commands.receive(json.loads(state.model_dump_json()))


def device_agent(hall: ProvisionedHall, kind: DeviceKind = DeviceKind.SIM, **options: object) -> EdgeAgent:
    handover = hall.add(kind, **options)  # type: ignore[arg-type]
    assert handover.bundle_dir is not None
    installed = install_bundle(handover.bundle_dir)
    assert installed.config is not None
    config = load_config(config_model(kind), installed.config)
    assert isinstance(config, AgentConfig)
    fast = config.model_copy(update={"uplink": FAST})
    return EdgeAgent(fast)


def applied_version(gateway: GatewayService, device: str) -> int | None:
    registered = gateway.registry.get(device)
    return registered.applied_version if registered else None


def registry_state(gateway: GatewayService, device: str) -> str | None:
    registered = gateway.registry.get(device)
    return registered.state if registered else None


def gateway_view(gateway: GatewayService) -> str:
    """What a technician at the gateway reads."""
    store = str(gateway.config.store_path)
    return CliRunner().invoke(main, ["gateway", "devices", "--store", store]).output


def test_a_device_becomes_active_only_after_passing_its_selftest(
    hall: ProvisionedHall, gateway: GatewayService
) -> None:
    agent = device_agent(hall)
    device = agent.identity.id
    sync_through_gateway(hall, gateway)
    assert registry_state(gateway, device) == "provisioned"
    lines: list[str] = []
    test = SelfTest(agent, [Step("printer", lambda: "test ticket printed")], out=lines.append,
                    gateway_timeout_s=30)
    agent.start()
    try:
        report = test.run()
    finally:
        agent.stop()
    assert report.passed, lines
    assert report.gateway_state == "active"
    assert registry_state(gateway, device) == "active"
    assert [s.name for s in report.steps] == ["printer", "hall broker", "gateway round trip"]
    assert any("over TLS" in line for line in lines)
    changes = gateway.db.query("SELECT payload FROM events WHERE type = 'device.state_changed'")
    activation = next(p for (p,) in changes if json.loads(p)["body"]["state"] == "active")
    assert json.loads(activation)["body"] == {"device": device, "state": "active", "previous": "provisioned",
                                              "reason": "self-test passed", "credential_version": 1}
    # The registry follows the gateway's report once it is in central's log
    # (tests/provisioning/test_registry_follows_the_log.py reads it there).
    report = ActivationReport.from_event(HALL, activation)
    assert report is not None
    RegistryActivations(hall.provisioner.home.registry_path).apply("central", [report], 1)
    assert hall.provisioner.registry.device(device).state == DeviceState.ACTIVE
    shown = gateway_view(gateway)
    assert f"{device}\tactive" in shown and "self-test passed" in shown


def test_central_ignores_an_activation_for_credentials_it_has_replaced_since(hall: ProvisionedHall) -> None:
    old = hall.add()
    hall.provisioner.reprovision(old.device.id, Delivery(directory=hall.root / "again"), by=TECHNICIAN)
    stale = {"v": 1, "id": "activation-0001", "device": GATEWAY, "seq": 1, "boot": "boot-1", "time": 0,
             "mono": 0, "type": "device.state_changed",
             "body": {"device": old.device.id, "state": "active", "previous": "provisioned",
                      "reason": "self-test passed", "credential_version": 1}}
    report = ActivationReport.from_event(HALL, json.dumps(stale))
    assert report is not None
    RegistryActivations(hall.provisioner.home.registry_path).apply("central", [report], 1)
    assert hall.provisioner.registry.device(old.device.id).state == DeviceState.PROVISIONED


def test_a_failed_selftest_keeps_the_device_provisioned_and_the_gateway_shows_why(
    hall: ProvisionedHall, gateway: GatewayService
) -> None:
    agent = device_agent(hall)
    sync_through_gateway(hall, gateway)

    def no_paper() -> str:
        raise StepFailed("printer reports no paper: load a roll")

    agent.start()
    try:
        report = SelfTest(agent, [Step("printer", no_paper)], out=lambda _l: None).run()
    finally:
        agent.stop()
    assert not report.passed
    assert [s.reason for s in report.failures()] == ["printer reports no paper: load a roll"]
    assert report.gateway_state == "provisioned"
    assert registry_state(gateway, agent.identity.id) == "provisioned"
    shown = gateway_view(gateway)
    assert "self-test FAILED: printer" in shown


def test_a_retired_device_is_told_plainly_that_its_login_is_refused(hall: ProvisionedHall) -> None:
    agent = device_agent(hall)
    hall.provisioner.retire(agent.identity.id, by=TECHNICIAN, reason="test")
    lines: list[str] = []
    agent.start()
    try:
        report = SelfTest(agent, [], out=lines.append, connect_timeout_s=15).run()
    finally:
        agent.stop()
    login = report.steps[0]
    assert login.name == "hall broker" and not login.passed
    assert "refused the login" in login.reason and "re-provision" in login.reason


def test_a_hung_check_fails_with_its_deadline_instead_of_freezing_the_selftest() -> None:
    import threading

    never = threading.Event()
    result = run_step(Step("camera 3", lambda: str(never.wait(30)), timeout_s=0.2))
    assert not result.passed and result.reason == "did not finish within 0 s"


def test_a_check_that_leaks_a_secret_in_its_error_is_redacted() -> None:
    def leaky() -> str:
        raise RuntimeError("login failed with password=hunter2hunter2")

    result = run_step(Step("broker", leaky))
    assert "hunter2" not in result.reason and not result.passed


def test_the_configuration_is_retained_applied_once_and_reported_back(
    hall: ProvisionedHall, gateway: GatewayService, tmp_path: Path
) -> None:
    agent = device_agent(hall, DeviceKind.RATING, window="w01")
    device = agent.identity.id
    applied: list[DeviceConfig] = []

    def apply(config: DeviceConfig) -> str | None:
        applied.append(config)
        return None

    applier = ConfigApplier(device, HALL, tmp_path / "config-applied.json", apply, agent.record)
    agent.on_config(applier.on_message)
    sync_through_gateway(hall, gateway)
    agent.start()
    try:
        wait_until(lambda: applied, 20, "the retained configuration")
        assert applied[0].window == "w01"
        hall.provisioner.configure(device, by=TECHNICIAN, window="w02")
        sync_through_gateway(hall, gateway)
        wait_until(lambda: len(applied) == 2, 20, "the new configuration")
        assert applied[1].window == "w02" and applied[1].version > applied[0].version
        wait_until(lambda: applied_version(gateway, device) == applied[1].version, 20,
                   "the gateway to hear the device applied it")
    finally:
        agent.stop()
    # The same version delivered again (a reconnect) is not applied twice.
    assert not applier.handle(applied[1].model_dump_json().encode())
    assert len(applied) == 2
