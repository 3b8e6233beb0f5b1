"""The pages are served by central itself: nothing is fetched from the internet."""

from __future__ import annotations

import re

import httpx

from central.web.pages import STATIC


def test_no_page_or_script_loads_anything_from_another_origin() -> None:
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), path.name
        assert "cdn" not in text.lower(), path.name


def test_the_screen_and_its_assets_are_served(viewer: httpx.Client) -> None:
    page = viewer.get("/screen")
    assert page.status_code == 200 and "电子监察" in page.text
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        assert viewer.get(asset).status_code == 200, asset


def test_the_cdn_backed_api_browser_is_off(viewer: httpx.Client) -> None:
    assert viewer.get("/docs").status_code == 404
    assert viewer.get("/openapi.json").status_code == 200
