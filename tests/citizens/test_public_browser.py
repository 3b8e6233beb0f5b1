"""The public site in Debian's Chromium, at a phone's size (390x844) and a desktop's: every page
loads with nothing from outside, Chinese renders in a real font, no text is under 16 px, nothing
spills sideways on the phone, and a citizen books and queries through the forms."""

from __future__ import annotations

import re
from typing import Any

import pytest

from central.service import CentralService
from tests.central.browser import chromium
from tests.citizens.conftest import CITIZEN, entry, record, texts_to
from tests.support import wait_until

# Chromium draws the same pages from the same API whichever database is behind it; that API's reads
# run on PostgreSQL in the API and page tests, so the browser runs on SQLite only (time).
pytestmark = pytest.mark.sqlite_only("the browser draws what the API serves; the API is tested on both")

PAGES = ("/public/", "/public/guide", "/public/guide/scjg-spjy", "/public/progress", "/public/figures",
         "/public/booking", "/public/booking/scjg-spjy/hall-01/101", "/public/booking/cancel")
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 3, "mobile": True}

TEXT_SIZES = """
const found = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const node = walker.currentNode, element = node.parentElement;
  if (!node.textContent.trim() || !element.getClientRects().length) continue;
  found.push([parseFloat(getComputedStyle(element).fontSize), node.textContent.trim().slice(0, 20)]);
}
for (const field of document.querySelectorAll('input:not([type=hidden]), select, button')) {
  found.push([parseFloat(getComputedStyle(field).fontSize), field.name || field.tagName]);
}
return found;
"""
GLYPHS = """
const family = getComputedStyle(document.querySelector('h1')).fontFamily;
const draw = (text) => {
  const canvas = document.createElement('canvas');
  canvas.width = 48; canvas.height = 48;
  const context = canvas.getContext('2d');
  context.font = '36px ' + family;
  context.fillText(text, 4, 40);
  return canvas.toDataURL();
};
return [draw('政'), draw('务'), draw('\\uE000')];
"""


def as_phone(driver: Any) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)


def as_desktop(driver: Any) -> None:
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.set_window_size(1280, 900)


def check_page(driver: Any, base: str, path: str, *, phone: bool) -> None:
    driver.get(base + path)
    assert driver.find_element("tag name", "h1").text, path
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map((r) => r.name);")
    assert resources and all(name.startswith(base) for name in resources), (path, resources)
    small = [(size, text) for size, text in driver.execute_script(TEXT_SIZES) if size < 16]
    assert not small, (path, small)
    if phone:
        width = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth];")
        assert width[0] <= width[1] == 390, (path, width)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_every_page_is_self_contained_readable_and_fits_the_screen(
        central: CentralService, size: str) -> None:
    with chromium() as driver:
        (as_phone if size == "phone" else as_desktop)(driver)
        for path in PAGES:
            check_page(driver, central.base_url, path, phone=size == "phone")
        zheng, wu, missing = driver.execute_script(GLYPHS)
        assert zheng != wu, "政 and 务 drew the same box: no Chinese font renders them"
        assert zheng != missing


def test_a_citizen_books_on_a_phone_and_looks_up_a_case(central: CentralService) -> None:
    from selenium.webdriver.common.by import By

    record(central, "case.accepted", entry("JQ-2026-1123-0201"))
    with chromium() as driver:
        as_phone(driver)
        driver.get(central.base_url + "/public/")
        driver.find_element(By.LINK_TEXT, "网上预约").click()
        driver.find_element(By.LINK_TEXT, "市场监管局").click()
        driver.find_element(By.LINK_TEXT, "食品经营许可").click()
        driver.find_element(By.PARTIAL_LINK_TEXT, "王小明").click()
        first = driver.find_element(By.CSS_SELECTOR, "input[name=slot]")
        assert first.get_attribute("value") == "11:00"
        first.click()
        driver.find_element(By.NAME, "phone").send_keys(CITIZEN)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        code = wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "[data-code]"), 20, "the code page")
        number = code[0].get_attribute("data-code")
        assert re.fullmatch(r"\d{6}", number) and driver.find_element(By.TAG_NAME, "h1").text == "预约成功"
        assert f"预约码{number}" in texts_to(central, CITIZEN, 2, "the booking's SMS")[-1]

        driver.find_element(By.LINK_TEXT, "办件查询").click()
        driver.find_element(By.NAME, "case_id").send_keys("JQ-2026-1123-0201")
        driver.find_element(By.NAME, "tail").send_keys("5678")
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        stage = wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "[data-stage]"), 20, "the answer")
        assert stage[0].text == "已受理"
        assert "预计办结" in driver.page_source and CITIZEN not in driver.page_source
