"""Every provisioning command says what it did and what comes next (docs/provisioning.md's promise)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from hallwatch.cli import main
from provisioning.model import DeviceKind
from tests.provisioning.conftest import ProvisionedHall


def provision(home: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["provision", "--home", str(home), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_registering_people_and_units_prints_what_was_registered(tmp_path: Path) -> None:
    home = tmp_path / "home"
    said = provision(home, "technician", "tech-li", "--name", "李工", "--hall", "hall-01")
    assert "technician tech-li (李工) registered for hall-01" in said and "--by tech-li" in said
    provision(home, "hall", "create", "hall-01", "--name", "酒泉市政务服务中心", "--gateway", "gw-hall-01",
              "--host", "127.0.0.1", "--by", "tech-li")
    said = provision(home, "department", "hall-01", "d-minzheng", "--name", "民政局", "--by", "tech-li")
    assert "department d-minzheng (民政局) set in hall-01" in said
    said = provision(home, "officer", "o-101", "--name", "王小明", "--hall", "hall-01", "--window", "w01",
                     "--by", "tech-li")
    assert "officer o-101 (王小明) set in hall-01 at window w01" in said


def test_a_device_s_history_gives_its_times_as_the_hall_s_wall_time(hall: ProvisionedHall) -> None:
    handover = hall.add(DeviceKind.SIM)
    shown = json.loads(provision(hall.provisioner.home.root, "device", "show", handover.device.id))
    times = [entry["at"] for entry in shown["history"]]
    assert times and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", at) for at in times), times
