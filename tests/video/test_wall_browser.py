"""The video wall in Debian's Chromium: four windows over two cameras, live, and a third camera unwatched."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from central.video.live import LiveRelay
from tests.central.browser import chromium
from tests.support import wait_until
from tests.video.conftest import DEADLINE_S, HALL, RECORDER, VIEWER_TOKEN, VideoHall

LIVE_EDGE_MS = 4000


def windows(driver: Any) -> list[dict[str, Any]]:
    return list(driver.execute_script("return window.hallwatchWall.windows();"))


def played_on(driver: Any, before: list[dict[str, Any]], seconds: float
              ) -> Callable[[], list[dict[str, Any]] | None]:
    """A condition: every window's currentTime is `seconds` past `before`'s; then the windows now."""

    def check() -> list[dict[str, Any]] | None:
        now = windows(driver)
        advanced = all(n["currentTime"] >= b["currentTime"] + seconds
                       for n, b in zip(now, before, strict=True))
        return now if advanced else None

    return check


def choose(driver: Any, window: int, camera: str) -> None:
    from selenium.webdriver.support.ui import Select

    select = driver.find_element("css selector", f'.tile[data-window="{window}"] select')
    Select(select).select_by_value(f"{HALL}/{RECORDER}/{camera}")


def test_a_four_window_wall_plays_two_cameras_live_and_never_streams_the_third(
    start_video_hall: Callable[[int], VideoHall],
) -> None:
    hall = start_video_hall(3)
    hall.wait_for_cameras(3)
    with chromium() as driver:
        driver.get(f"{hall.central.base_url}/wall?token={VIEWER_TOKEN}")
        assert driver.current_url.endswith("/wall"), "the token must leave the address bar"
        wait_until(lambda: driver.execute_script(
            "return document.querySelectorAll('.tile select option').length >= 16;"),
            DEADLINE_S, "the cameras in every window's list")
        driver.find_element("css selector", '[data-grid="4"]').click()
        for window, camera in enumerate(("cam-1", "cam-2", "cam-1", "cam-2")):
            choose(driver, window, camera)

        started = wait_until(lambda: (shown := windows(driver)) and all(
            w["state"] == "playing" for w in shown) and shown, DEADLINE_S, "all four windows playing")
        assert [w["camera"] for w in started] == [f"{HALL}/{RECORDER}/cam-{n}" for n in (1, 2, 1, 2)]
        wait_until(lambda: all(now["currentTime"] > then["currentTime"] + 2
                               for now, then in zip(windows(driver), started, strict=True)),
                   DEADLINE_S, "every video element's currentTime to advance 2 s")

        # The live edge, measured as hls.js reports it: now less the program date-time of what
        # the window shows (the recorder stamps each segment with its wall clock).
        wait_until(lambda: all(w["latencyMs"] is not None and w["latencyMs"] <= LIVE_EDGE_MS
                               for w in windows(driver)), DEADLINE_S, "every window within 4 s of live")
        samples = []
        for _ in range(3):  # three looks at a steady wall, each after every window played on a second
            shown = wait_until(played_on(driver, windows(driver), 1.0), DEADLINE_S,
                               "every window to play on a second")
            samples.append([w["latencyMs"] for w in shown])
        assert all(0 < ms <= LIVE_EDGE_MS for sample in samples for ms in sample), samples

        # hls.js, the page, its styles, playlists and segments: all from central, nothing else.
        loaded = driver.execute_script(
            "return performance.getEntriesByType('resource').map((e) => new URL(e.name).origin);")
        assert set(loaded) == {hall.central.base_url}, set(loaded)

        # The layout is saved at central, cameras and all.
        driver.find_element("id", "layout-name").send_keys("大厅四画面")
        driver.find_element("id", "save").click()
        wait_until(lambda: "大厅四画面" in driver.find_element("id", "saved").text, 20, "the save to answer")
        assert "layout=" in driver.current_url

    with hall.api() as http:
        saved = {layout["name"]: layout for layout in http.get("/api/video/layouts").json()}
    assert saved["大厅四画面"]["grid"] == 4
    assert [c["camera"] for c in saved["大厅四画面"]["cells"]] == ["cam-1", "cam-2", "cam-1", "cam-2"]

    # cam-3 was recorded all along, and nobody watched it: nothing asked for it anywhere.
    assert hall.recorder.recorder.statuses()["cam-3"].state.value == "recording"
    assert hall.recorder_video.video.served["cam-3"] == 0
    assert hall.recorder_video.video.bytes_served["cam-3"] == 0
    relay: LiveRelay = hall.central.video.live
    assert relay.fetched.get((HALL, RECORDER, "cam-3"), 0) == 0
    # Two windows of the same camera share central's fetches: each segment crossed once.
    assert hall.recorder_video.video.served["cam-1"] > 0
