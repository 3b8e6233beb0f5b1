"""A refused fact on the big screen, in a real headless browser: above the fold, without a reload."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central.config import CentralConfig
from central.service import CentralService
from spine.broker.runner import MosquittoBroker
from tests.central.browser import chromium
from tests.central.events import deliver
from tests.central.fakes import HandCases
from tests.support import wait_until

TOKEN = "screen-token-for-trust"


@pytest.fixture
def central(tmp_path: Path, broker: MosquittoBroker) -> Iterator[CentralService]:
    service = CentralService(CentralConfig.model_validate({
        "data_dir": str(tmp_path / "central"), "broker": {"port": broker.port},
        "http": {"host": "127.0.0.1", "port": 0},
        "ingest": {"halls": [{"hall": "hall-01", "gateway": "gw-hall-01"}]},
        "web": {"users": [{"name": "big-screen", "role": "viewer", "token": TOKEN}]},
    }), cases=HandCases())
    service.start()
    yield service
    service.stop()


def shown(driver: Any, selector: str) -> str | None:
    return driver.execute_script(  # type: ignore[no-any-return]
        "const e = document.querySelector(arguments[0]); return e && e.innerText;", selector)


def test_a_refusal_at_the_gateway_shows_among_the_alarms_and_on_the_devices_chip(
    central: CentralService,
) -> None:
    with chromium() as driver:
        driver.get(f"{central.base_url}/screen?token={TOKEN}")
        wait_until(lambda: driver.find_element("id", "link").get_attribute("data-state") == "live",
                   30, "the event stream to connect")
        driver.execute_script("window.__sameDocument = true;")
        deliver(central.store, "hall-01", [("security.refused", {
            "device": "kiosk-1", "kind": "kiosk", "type": "rating.recorded", "event_id": "e" * 32,
            "reason": "a kiosk may not state rating.recorded (only gateway)", "refusals": 3,
            "quarantined": True}, 1_795_399_200_000)])
        alarm = wait_until(lambda: shown(driver, '[data-security="kiosk-1"]'), 20,
                           "the refusal among the screen's alarms")
        assert "越权" in alarm and "rating.recorded" in alarm and "已隔离" in alarm
        chip = wait_until(lambda: shown(driver, '[data-device="kiosk-1"]'), 20, "the kiosk's chip")
        assert "越权1" in chip and "已隔离" in chip
        assert driver.execute_script("return window.__sameDocument === true;"), "the page reloaded"
