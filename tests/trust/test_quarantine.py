"""Repeated refusals quarantine a device until a technician releases it at the gateway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.cli import gateway as gateway_cli
from tests.support import wait_until
from tests.trust.hall import Device, SecuredHall, start_secured_hall
from tests.trust.samples import HALL, Who, sample

KIOSK = Who("kiosk-q", "kiosk")


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[SecuredHall]:
    instance = start_secured_hall(tmp_path, [Device("kiosk-q", "kiosk")], gateway={
        "security": {"quarantine_after": 3, "quarantine_window_s": 600}})
    yield instance
    instance.stop()


def shown(hall: SecuredHall) -> dict[str, Any] | None:
    with hall.api("viewer") as viewer:
        devices = viewer.get(f"/api/halls/{HALL}").json()["devices"]
    return next((d for d in devices if d["device"] == "kiosk-q"), None)


def test_a_device_refused_three_times_is_quarantined_until_a_technician_releases_it(
    hall: SecuredHall,
) -> None:
    forged = [hall.state("kiosk-q", "queue.served", sample("queue.served", KIOSK)) for _ in range(3)]
    hall.wait_settled(forged)
    assert [b["quarantined"] for b in hall.gateway_bodies("security.refused")] == [False, False, True]
    wait_until(lambda: (d := shown(hall)) and d["quarantined"] and d["refused"] == 3, 30,
               "central to show the kiosk quarantined")

    # Meanwhile even what it may state is kept aside, and no new alarm is raised for it.
    honest = hall.state("kiosk-q", "queue.printer_status", {"state": "ready", "printable": True})
    wait_until(lambda: hall.gateway.db.query(
        "SELECT 1 FROM dead_letters WHERE sender = 'kiosk-q' AND reason LIKE '%in quarantine%'"), 30,
        "the quarantined kiosk's next batch kept aside")
    assert hall.at_gateway(honest) is None and len(hall.gateway_bodies("security.refused")) == 3
    listed = CliRunner().invoke(gateway_cli, ["devices", "--store", str(hall.gateway.db.path)])
    assert "kiosk-q\tactive\tkiosk\t-\tno self-test yet\tQUARANTINED: 3 refused facts" in listed.output

    released = CliRunner().invoke(gateway_cli, ["release", "kiosk-q", "--by", "tech-li", "--reason",
                                                "firmware reflashed", "--store", str(hall.gateway.db.path)])
    assert released.exit_code == 0, released.output
    wait_until(lambda: hall.central_bodies("security.released"), 30, "central to hear of the release")
    assert hall.central_bodies("security.released")[0] | {"quarantined_at": 0} == {
        "device": "kiosk-q", "by": "tech-li", "reason": "firmware reflashed", "quarantined_at": 0}
    wait_until(lambda: (d := shown(hall)) and not d["quarantined"], 30, "central to show it released")

    after = hall.state("kiosk-q", "queue.printer_status", {"state": "near_end", "printable": True})
    hall.wait_settled([after])
    assert hall.at_central(after) == "stored"
    again = CliRunner().invoke(gateway_cli, ["release", "kiosk-q", "--by", "tech-li",
                                             "--store", str(hall.gateway.db.path)])
    assert again.exit_code != 0 and "not in quarantine" in again.output
