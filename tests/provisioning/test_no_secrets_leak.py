"""A whole provisioning run, grepped for its secrets: they are only where they were handed over."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from hallwatch.cli import main
from provisioning.bundle import PASSWORD_FILE
from provisioning.model import DeviceKind
from tests.provisioning.conftest import HALL, SETTINGS, TECHNICIAN, ProvisionedHall


def run(home: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--log-level", "DEBUG", "provision", "--home", str(home), *args],
                                env={"HALLWATCH_TECHNICIAN": TECHNICIAN})
    assert result.exit_code == 0, result.output + (result.stderr if result.stderr_bytes else "")
    return result.output + (result.stderr if result.stderr_bytes else "")


def test_no_secret_appears_in_output_logs_registry_or_broker_log(
    hall: ProvisionedHall, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    home = hall.provisioner.home.root
    assert hall.broker.process is not None
    (home / "sync.toml").write_text(
        f'mode = "local"\nbroker_dir = "{hall.root / "broker-auth"}"\n'
        f'reload = "pid:{hall.broker.process.pid}"\n'
    )
    cards = hall.root / "cards"
    layout = ["--layout-etc", str(hall.root / "etc"), "--layout-var", str(hall.root / "var")]
    output = [
        run(home, "window", HALL, "w03", "--name", "Window 3"),
        run(home, "device", "add", HALL, "--kind", "kiosk", "--serial", "SN-A", "--to", str(cards / "a"),
            "--hardware", json.dumps(SETTINGS[DeviceKind.KIOSK]), *layout),
        run(home, "device", "add", HALL, "--kind", "rating", "--window", "w03", "--to", str(cards / "b"),
            "--client-cert", "--hardware", json.dumps(SETTINGS[DeviceKind.RATING]), *layout),
        run(home, "device", "add", HALL, "--kind", "recorder", "--enrol", *layout),
    ]
    codes = re.findall(r"enrolment code: (\S+)", "".join(output))
    assert len(codes) == 1
    output += [
        run(home, "device", "rotate", "kiosk-hall-01-001", "--to", str(cards / "a2"), *layout),
        run(home, "device", "reprovision", "kiosk-hall-01-001", "--to", str(cards / "a3"), *layout),
        run(home, "device", "replace", "rating-hall-01-001", "--serial", "SN-B2", "--to", str(cards / "b2"),
            *layout),
        run(home, "device", "retire", "recorder-hall-01-001", "--reason", "camera moved"),
        run(home, "device", "list"),
        run(home, "device", "show", "kiosk-hall-01-001"),
        run(home, "hall", "show", HALL),
        run(home, "hall", "state", HALL, "--out", str(hall.root / "state.json")),
        run(home, "gateway", "bundle", HALL, "--to", str(hall.root / "gw-bundle"),
            "--central-host", "central", *layout),
    ]
    secrets = [p.read_text().strip() for p in cards.rglob("*.password")]
    secrets += [p.read_text().strip() for p in (hall.root / "gw-bundle").rglob("*.password")]
    secrets += [p.read_text().strip() for p in cards.rglob("client.key")]
    secrets += list(hall.gateway_passwords.values())
    assert len(secrets) >= 9 and all(len(s) > 30 for s in secrets)
    everything = "\n".join(output)
    # The enrolment code is shown once, at its handover, and nowhere else.
    assert everything.count(codes[0]) == 1
    places = {
        "command output": everything.replace(f"enrolment code: {codes[0]}", "enrolment code: (handed over)"),
        "logs": "\n".join(r.getMessage() for r in caplog.records),
        "registry file": (home / "registry.sqlite").read_bytes().decode("latin-1"),
        "registry journal": "".join(p.read_bytes().decode("latin-1")
                                    for p in home.glob("registry.sqlite-*")),
        "hall state for the gateway": (hall.root / "state.json").read_text(),
        "broker log": hall.broker.log_path.read_text(errors="replace"),
        "broker password file": (hall.root / "broker-auth" / "passwords").read_text(),
    }
    for where, text in places.items():
        for secret in [*secrets, *codes]:
            assert secret not in text, f"a secret leaked into the {where}"
    assert "rotate" in everything and "retired" in everything  # the run did what it says
    assert (cards / "a3" / PASSWORD_FILE).exists()
