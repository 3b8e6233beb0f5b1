"""A Pi fetches its bundle once over HTTP with its enrolment code; the code never crosses the wire."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from hallwatch.cli import main
from provisioning import enrolment
from provisioning.bundle import PASSWORD_FILE
from provisioning.enrolserver import make_server
from provisioning.model import DeviceKind
from provisioning.passwords import verify
from provisioning.workflow import Delivery, Provisioner
from spine.files import verify_directory
from tests.provisioning.conftest import HALL, TECHNICIAN, make_provisioner


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Provisioner, str]]:
    provisioner = make_provisioner(tmp_path)
    provisioner.create_hall(HALL, "Service centre", "gw-hall-01", ["localhost"], 8883, by=TECHNICIAN)
    server = make_server(provisioner, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield provisioner, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    provisioner.close()


def test_the_pi_fetches_its_bundle_once_and_a_second_fetch_is_refused(
    served: tuple[Provisioner, str], tmp_path: Path
) -> None:
    provisioner, url = served
    handover = provisioner.add_device(HALL, DeviceKind.SIM, Delivery(enrol=True), by=TECHNICIAN)
    assert handover.enrolment_code is not None
    target = tmp_path / "boot" / "hallwatch"
    fetched = CliRunner().invoke(main, ["provision", "fetch", url, "--to", str(target)],
                                 input=handover.enrolment_code.lower() + "\n")
    assert fetched.exit_code == 0, fetched.output
    assert handover.enrolment_code not in fetched.output
    verify_directory(target)
    stored = provisioner.registry.password_hash(handover.device.id)
    assert stored is not None and verify((target / PASSWORD_FILE).read_text().strip(), stored)
    with pytest.raises(enrolment.EnrolmentError, match="already used"):
        enrolment.fetch_bundle(url, handover.enrolment_code)
    actions = [e["action"] for e in provisioner.registry.audit_log(handover.device.id)]
    assert actions[-1] == "device.enrolled"


def test_a_mistyped_code_is_refused_plainly(served: tuple[Provisioner, str]) -> None:
    provisioner, url = served
    provisioner.add_device(HALL, DeviceKind.SIM, Delivery(enrol=True), by=TECHNICIAN)
    with pytest.raises(enrolment.EnrolmentError, match="unknown enrolment code"):
        enrolment.fetch_bundle(url, enrolment.new_code())
    with pytest.raises(enrolment.EnrolmentError, match="16 letters and digits"):
        enrolment.fetch_bundle(url, "ABCD-1234")
