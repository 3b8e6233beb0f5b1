"""The big screen's views in a real headless browser: hall time whatever the browser's zone, detail
pages that rotate and can be pinned, every view set by the address, cards that do not look like
lights."""

from __future__ import annotations

from typing import Any

from central.service import CentralService
from tests.central.browser import chromium
from tests.central.conftest import VIEWER_TOKEN
from tests.central.screen_view import first_screen, screen_state, show_at
from tests.support import wait_until


def shown_page(driver: Any) -> str:
    return str(driver.execute_script("return document.getElementById('page').dataset.page;"))


def test_the_clock_shows_hall_time_whatever_the_browsers_zone(engine_central: CentralService) -> None:
    with chromium() as driver:
        driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "America/New_York"})
        show_at(driver)
        driver.get(f"{engine_central.base_url}/screen?token={VIEWER_TOKEN}")
        first_screen(driver)
        assert driver.execute_script("return new Date(1795399200000).getHours();") == 21, \
            "the browser itself is in New York, where it is still Sunday evening"
        # Central's clock says Monday 2026-11-23 10:05 in the halls (Asia/Shanghai).
        clock = wait_until(lambda: (t := driver.find_element("id", "clock").text) and t, 10, "the clock")
        assert clock.startswith("10:0"), clock
        assert driver.find_element("id", "date").text == "2026年11月23日 星期一"


def test_detail_pages_rotate_on_a_timer_set_by_the_address(engine_central: CentralService) -> None:
    with chromium() as driver:
        show_at(driver)
        driver.get(f"{engine_central.base_url}/screen?token={VIEWER_TOKEN}&rotate=1")
        first_screen(driver)
        assert "rotate=1" in driver.current_url
        seen = [shown_page(driver)]
        assert seen == ["cases"], "a small office's cases come first, as tiles"
        for _ in range(2):
            seen.append(wait_until(lambda: (p := shown_page(driver)) != seen[-1] and p, 20,
                                   "the next page"))
        assert seen == ["cases", "units", "alarms"]
        wait_until(lambda: shown_page(driver) == "cases", 20, "the rotation to start over")


def test_a_page_named_in_the_address_is_pinned_and_a_chosen_page_stays_after_a_reload(
    engine_central: CentralService,
) -> None:
    with chromium() as driver:
        show_at(driver)
        driver.get(f"{engine_central.base_url}/screen?token={VIEWER_TOKEN}&page=units&rotate=0")
        state = first_screen(driver)
        assert shown_page(driver) == "units" and state["pinned"] is False
        driver.get(f"{engine_central.base_url}/screen?page=units")
        state = first_screen(driver)
        assert shown_page(driver) == "units" and state["pinned"] is True
        assert driver.find_element("id", "pin").get_attribute("aria-pressed") == "true"

        driver.find_element("css selector", '#tabs [data-page="alarms"]').click()
        wait_until(lambda: shown_page(driver) == "alarms", 10, "the chosen page")
        assert driver.current_url.endswith("/screen?page=alarms")
        driver.refresh()
        first_screen(driver)
        assert shown_page(driver) == "alarms" and screen_state(driver)["pinned"] is True

        driver.find_element("id", "pin").click()  # back to rotating
        wait_until(lambda: driver.current_url.endswith("/screen"), 10, "the page to leave the address")
        assert screen_state(driver)["pinned"] is False


def test_a_kiosk_screen_shows_no_controls(engine_central: CentralService) -> None:
    with chromium() as driver:
        show_at(driver)
        driver.get(f"{engine_central.base_url}/screen?token={VIEWER_TOKEN}&kiosk=1&hall=hall-01")
        state = first_screen(driver)
        assert state["board"]["scope"] == {"hall": "hall-01", "unit": None}
        assert not driver.find_element("id", "f-unit").is_displayed()
        assert not driver.find_element("id", "pin").is_displayed()


LOOKS_JS = """
const style = (selector) => {
  const e = document.querySelector(selector);
  if (!e) return null;
  const s = getComputedStyle(e);
  return {text: e.innerText, radius: parseFloat(s.borderTopLeftRadius), image: s.backgroundImage,
          border: parseFloat(s.borderTopWidth), transform: s.transform, shadow: s.textShadow};
};
return {
  tile: Object.fromEntries(arguments[0].map((stage) => [stage, style(`.case[data-stage="${stage}"]`)])),
  glyph: Object.fromEntries(arguments[0].map((stage) =>
    [stage, style(`.case[data-stage="${stage}"] .glyph`)])),
  count: Object.fromEntries(arguments[0].map((stage) =>
    [stage, style(`.centres-table td[data-stage="${stage}"] .n`)])),
};
"""


def test_cards_and_lights_differ_in_shape_word_and_form_not_just_in_shade(
    engine_central: CentralService,
) -> None:
    pairs = (("yellow_light", "yellow_card"), ("red_light", "red_card"))
    with chromium() as driver:
        show_at(driver)
        driver.get(f"{engine_central.base_url}/screen?token={VIEWER_TOKEN}&page=cases")
        first_screen(driver)
        wait_until(lambda: driver.find_elements("css selector", '.case[data-stage="red_card"]'), 20,
                   "the tiles")
        looks = driver.execute_script(LOOKS_JS, [stage for pair in pairs for stage in pair])
    for light, card in pairs:
        tiles, glyphs, counts = looks["tile"], looks["glyph"], looks["count"]
        assert tiles[light]["text"].split()[:2] != tiles[card]["text"].split()[:2], "shape and word differ"
        # A light is a rounded lamp tile with a glowing symbol; a card is a square-cornered,
        # white-edged, hatched tile with a tilted card drawn in its badge.
        assert tiles[light]["image"] == "none"
        assert tiles[card]["image"].startswith("repeating-linear-gradient")
        assert tiles[light]["radius"] > 2 * tiles[card]["radius"]
        assert tiles[card]["border"] > tiles[light]["border"]
        assert glyphs[light]["shadow"] != "none" and glyphs[light]["transform"] == "none"
        assert glyphs[card]["transform"] != "none" and glyphs[card]["border"] > 0
        # In the tables too: a light's count is a glowing number, a card's count a hatched block.
        assert counts[card]["image"].startswith("repeating-linear-gradient"), counts[card]
        assert counts[light]["image"] == "none", counts[light]


def test_open_high_risk_anomalies_join_the_alarms_and_projects_get_their_panel(
    engine_central: CentralService,
) -> None:
    from central.web.screen.models import ScreenAnomaly, ScreenProject
    from tests.central.conftest import MONDAY_MORNING
    from tests.central.screen_view import in_view

    engine_central.context.screen.anomalies = lambda hall, limit: [ScreenAnomaly(
        anomaly="AN-1", hall="hall-01", unit="民政局", rule="confirmed_by_own_officer",
        title="办结由办理人本人确认", at=MONDAY_MORNING)]
    engine_central.context.screen.projects = lambda hall, limit: [ScreenProject(
        project="P-1", name="光伏产业园", stage="red_light", cases=6, slowest_case="DEMO-0104",
        slowest_unit="民政局", due="2026-12-20")]
    with chromium() as driver:
        show_at(driver)
        driver.get(f"{engine_central.base_url}/screen?token={VIEWER_TOKEN}")
        first_screen(driver)
        anomaly = in_view(driver, '[data-anomaly="AN-1"]', whole_text=True)
        assert len(anomaly) == 1 and all(anomaly.values()), anomaly
        assert next(iter(anomaly)).startswith("异常 办结由办理人本人确认")
        project = in_view(driver, '[data-project="P-1"]', whole_text=True)
        assert len(project) == 1 and all(project.values()), project
        assert "光伏产业园" in next(iter(project)) and "红灯" in next(iter(project))


def test_the_windows_page_names_who_serves_what_and_every_device_is_shown_with_its_trouble(
    engine_central: CentralService,
) -> None:
    from tests.central.conftest import MONDAY_MORNING
    from tests.central.events import deliver
    from tests.central.screen_view import MINUTE, a_morning_queue, in_view

    store = engine_central.store
    deliver(store, "hall-01", a_morning_queue(MONDAY_MORNING - 30 * MINUTE))
    deliver(store, "hall-01", [("device.online", {"device": device, "kind": kind}, MONDAY_MORNING - MINUTE)
                               for device, kind in (("kiosk-1", "kiosk"), ("kiosk-2", "kiosk"),
                                                    ("rating-1", "rating"))])
    deliver(store, "hall-01", [("queue.printer_status", {"state": "paper_out"}, MONDAY_MORNING)],
            device="kiosk-2")
    deliver(store, "hall-01", [("device.offline", {"device": "rating-1", "reason": "lost"}, MONDAY_MORNING)])
    with chromium() as driver:
        show_at(driver)
        driver.get(f"{engine_central.base_url}/screen?token={VIEWER_TOKEN}&page=windows")
        first_screen(driver)
        window = wait_until(lambda: in_view(driver, '[data-window="3"]', whole_text=True), 20, "window 3")
        assert list(window) == ["3 号窗口 王芳 A002 办理 10分"] and all(window.values()), window
        services = in_view(driver, "[data-service]", whole_text=True)
        assert services == {"A 类 等候 1 · 最长 20分": True, "B 类 等候 1 · 最长 28分": True}, services

        # The centre's row says someone is needed and names whom, in view whatever the page.
        glance = in_view(driver, '[data-hall="hall-01"] .devices-count', whole_text=True)
        assert glance == {"⚠ 2/3": True}, glance
        named = in_view(driver, '[data-hall="hall-01"] .troubled', whole_text=True)
        assert list(named) == ["取号机 kiosk-2 缺纸 评价器 rating-1 离线 今天 10:05"], named
        first = in_view(driver, '[data-hall="hall-01"] .troubled [data-device]', whole_text=True)
        assert first["取号机 kiosk-2 缺纸"], first

        driver.get(f"{engine_central.base_url}/screen?page=devices")
        first_screen(driver)
        chips = wait_until(lambda: in_view(driver, "#page [data-device]", whole_text=True), 20, "the chips")
        assert set(chips) == {"取号机 kiosk-1", "取号机 kiosk-2 缺纸", "评价器 rating-1 离线 今天 10:05"}
        assert all(chips.values()), chips
