"""The big screen's hall panel says when a hall's data are incomplete (a real headless browser)."""

from __future__ import annotations

from central.cases.timebase import parse_instant
from central.hall_watermarks import HallCompleteness
from central.service import CentralService
from tests.central.browser import chromium
from tests.central.conftest import VIEWER_TOKEN, cases, central, central_database  # noqa: F401 (fixtures)
from tests.support import wait_until

MONDAY_EVENING = parse_instant("2026-11-23T18:30") * 1000


def test_a_hall_that_is_behind_says_so_on_its_panel(central: CentralService) -> None:  # noqa: F811
    def behind(hall: str, _now_ms: int) -> HallCompleteness:
        return HallCompleteness(MONDAY_EVENING, MONDAY_EVENING if hall == "hall-01" else None)

    central.context.hall_completeness = behind
    with chromium() as driver:
        driver.get(f"{central.base_url}/screen?token={VIEWER_TOKEN}")
        shown = wait_until(lambda: driver.execute_script(
            "const w = document.querySelector('[data-hall=\"hall-01\"] [data-incomplete]');"
            "return w && w.innerText;"), 30, "the hall panel's warning")
    assert "数据不完整" in shown and "18:30" in shown
