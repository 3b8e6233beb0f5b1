"""The big screen's case tiles in a real headless browser: seeded cases in the right colours and words,
escalations live, filters kept in the address. The tiles are the screen's `cases` page, pinned here by
its address (`?page=cases`) so that the rotation never takes them away mid-test."""

from __future__ import annotations

import re
from typing import Any

import pytest

from central.service import CentralService
from central.web.labels import STAGE_LOOKS
from spine.clock import SimulatedClock
from tests.central.browser import chromium
from tests.central.conftest import VIEWER_TOKEN
from tests.central.fakes import HandCases
from tests.support import wait_until

# Chromium draws the same pages from the same API whichever database is behind it; that API's reads
# run on PostgreSQL in the API and page tests, so the browser runs on SQLite only (time).
pytestmark = pytest.mark.sqlite_only("the browser draws what the API serves; the API is tested on both")


def rgb(hex_colour: str) -> tuple[int, ...]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def tile(driver: Any, case_id: str) -> dict[str, Any] | None:
    """A case tile as the page shows it now, read in one go: the page redraws whole
    sections when the stream says so, which would make a held element stale."""
    found = driver.execute_script(
        "const t = document.querySelector(`[data-case=\"${arguments[0]}\"]`);"
        "return t && {stage: t.dataset.stage, background: getComputedStyle(t).backgroundColor,"
        " text: t.innerText};", case_id)
    if found is None:
        return None
    numbers = re.findall(r"[\d.]+", found["background"])
    found["rgb"] = tuple(int(float(n)) for n in numbers[:3])
    return dict(found)


def test_the_screen_shows_every_open_case_in_its_colour_and_word(
    central: CentralService, cases: HandCases
) -> None:
    with chromium() as driver:
        driver.get(f"{central.base_url}/screen?token={VIEWER_TOKEN}&page=cases")
        wait_until(lambda: tile(driver, "SP-004"), 30, "the seeded cases on the screen")
        assert "token" not in driver.current_url, "the token must leave the address bar"
        assert driver.current_url.endswith("/screen?page=cases"), "the rest of the address stays"

        for case_id, stage in (("SP-001", "blue"), ("SP-002", "yellow_light"),
                               ("SP-003", "red_light"), ("SP-004", "red_card")):
            shown = tile(driver, case_id)
            look = STAGE_LOOKS[stage]
            assert shown is not None and shown["stage"] == stage
            assert shown["rgb"] == rgb(look.colour), case_id
            # Not colour alone: the shape and the word are on the tile.
            assert f"{look.shape} {look.label}" in shown["text"]
        assert tile(driver, "SP-005") is None, "a completed case is not an open case"

        units = driver.execute_script(
            "return [...document.querySelectorAll('[data-hall=\"hall-01\"] [data-unit]')]"
            ".map((u) => u.dataset.unit);")
        assert sorted(units) == ["人社局", "民政局"]
        assert "13812345678" not in driver.page_source


def test_an_escalation_appears_without_a_reload(central: CentralService, cases: HandCases) -> None:
    with chromium() as driver:
        driver.get(f"{central.base_url}/screen?token={VIEWER_TOKEN}&page=cases")
        wait_until(lambda: tile(driver, "SP-003"), 30, "the seeded cases on the screen")
        wait_until(lambda: driver.find_element("id", "link").get_attribute("data-state") == "live",
                   30, "the event stream to connect")
        driver.execute_script("window.__sameDocument = true;")

        cases.escalate("SP-003", "yellow_card")
        central.tick()

        card = wait_until(lambda: (t := tile(driver, "SP-003")) and t["stage"] == "yellow_card" and t,
                          20, "the escalated case to turn into a yellow card")
        assert driver.execute_script("return window.__sameDocument === true;"), "the page reloaded"
        assert "黄牌" in card["text"]
        alert = wait_until(lambda: driver.execute_script(
            "const a = document.querySelector('[data-alert=\"SP-003\"]'); return a && a.innerText;"),
            20, "the escalation to be announced")
        assert "黄牌" in alert


def test_the_screen_filters_by_unit_and_keeps_the_filter_in_its_address(
    central: CentralService, cases: HandCases
) -> None:
    from selenium.webdriver.support.ui import Select

    with chromium() as driver:
        driver.get(f"{central.base_url}/screen?token={VIEWER_TOKEN}&page=cases")
        wait_until(lambda: tile(driver, "SP-001"), 30, "the seeded cases on the screen")
        Select(driver.find_element("id", "f-unit")).select_by_value("人社局")
        wait_until(lambda: tile(driver, "SP-001") is None, 20, "民政局's cases to be filtered out")
        assert tile(driver, "SP-002") is not None and tile(driver, "SP-004") is not None
        assert "unit=%E4%BA%BA%E7%A4%BE%E5%B1%80" in driver.current_url, "the filter is in the address"

        driver.refresh()
        wait_until(lambda: tile(driver, "SP-002"), 30, "the screen after a reload")
        assert tile(driver, "SP-001") is None, "a reload keeps the filter"
        Select(driver.find_element("id", "f-stage")).select_by_value("alarm")
        wait_until(lambda: "stage=alarm" in driver.current_url, 20, "the alarms-only filter in the address")
        driver.get(f"{central.base_url}/screen?page=cases&stage=alarm")
        wait_until(lambda: tile(driver, "SP-001") is None and tile(driver, "SP-004"), 30,
                   "an alarms-only screen set by its address")
        assert driver.find_element("id", "f-stage").get_attribute("value") == "alarm"


def test_the_real_countdown_turns_a_red_light_into_a_yellow_card_on_screen_after_midnight(
    engine_central: CentralService, clock: SimulatedClock
) -> None:
    with chromium() as driver:
        driver.get(f"{engine_central.base_url}/screen?token={VIEWER_TOKEN}&page=cases")
        red = wait_until(lambda: tile(driver, "DEMO-0104"), 30, "the engine's cases on the screen")
        assert red["stage"] == "red_light"
        assert red["rgb"] == rgb(STAGE_LOOKS["red_light"].colour)
        wait_until(lambda: driver.find_element("id", "link").get_attribute("data-state") == "live",
                   30, "the event stream to connect")
        driver.execute_script("window.__sameDocument = true;")

        clock.advance(14 * 3600 * 1000)  # Tuesday 00:05: one day overdue
        engine_central.tick()

        card = wait_until(lambda: (t := tile(driver, "DEMO-0104")) and t["stage"] == "yellow_card" and t,
                          20, "the case to turn into a yellow card on screen")
        assert card["rgb"] == rgb(STAGE_LOOKS["yellow_card"].colour)
        assert "▮ 黄牌" in card["text"]
        assert driver.execute_script("return window.__sameDocument === true;"), "the page reloaded"


def test_the_performance_page_ranks_units_in_a_table_and_a_chart(engine_central: CentralService) -> None:
    with chromium() as driver:
        driver.get(f"{engine_central.base_url}/performance?token={VIEWER_TOKEN}")
        rows = wait_until(lambda: driver.find_elements("css selector", "#table tbody tr"), 30,
                          "the ranked table")
        ranks = [row.find_elements("tag name", "td")[0].text for row in rows]
        scored = [rank for rank in ranks if rank != "—"]
        assert scored == [str(n) for n in range(1, len(scored) + 1)]
        # Units with nothing completed and nothing rated have no score and come last.
        assert ranks == scored + ["—"] * (len(ranks) - len(scored))
        assert rows[-1].find_elements("tag name", "td")[2].text == "暂无数据"
        bars = driver.find_elements("css selector", "#chart rect")
        assert len(bars) == len(rows)
        # 住建局 holds the demo's supervision letter: it ranks last.
        assert rows[-1].find_elements("tag name", "td")[1].text == "住建局"
