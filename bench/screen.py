"""Big screen benchmark: server time and browser render time with 1,000, 5,000 and 20,000 open cases,
beside the earlier page (one tile per open case from `/api/screen`) as the baseline.

Run: `.venv/bin/python -m bench.screen` (BENCH_SCREEN_CASES=1000,5000 for a quicker run). For each
size a fresh central (real case engine, SQLite WAL) gets a city of open cases over 8 centres through
the case store's own door (`central.web.screen.sample`), then, in the same run on the same data:

- server: the board (`/api/screen/board`, counted in SQL) and the earlier snapshot (`/api/screen`),
  each asked for over HTTP after a change (so nothing is served from the board's cache), median
  and worst of the rounds;
- browser: Debian's headless Chromium at 1920x1080 loads each page and reports, in its own clock,
  when the first full render ended (from navigation start), then how long a live update took from
  the stream's `change` to the redrawn screen; and how tall the page is (the earlier one scrolls).

The earlier page is kept in `bench/screen_baseline/` and served here at `/baseline/screen`.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from central.cases.timebase import parse_instant
from central.config import CentralConfig
from central.service import CentralService
from central.web.screen.sample import CENTRES, CityShape, seed_city
from spine.broker.runner import BrokerOptions, MosquittoBroker, free_port
from spine.clock import SimulatedClock

SIZES = tuple(int(n) for n in os.environ.get("BENCH_SCREEN_CASES", "1000,5000,20000").split(","))
NOW = parse_instant("2026-11-23T10:05")  # a Monday morning
TOKEN = "bench-screen"
SERVER_ROUNDS = 20
PAGE_LOADS = 3
BASELINE = Path(__file__).parent / "screen_baseline"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run")


@contextmanager
def city(root: Path, open_cases: int) -> Iterator[CentralService]:
    broker = MosquittoBroker(BrokerOptions(free_port(), root / "broker"))
    broker.start()
    clock = SimulatedClock(wall_ms=NOW * 1000)
    config = CentralConfig.model_validate({
        "data_dir": str(root / "central"), "broker": {"port": broker.port},
        "http": {"host": "127.0.0.1", "port": 0},
        "ingest": {"halls": [{"hall": hall, "gateway": f"gw-{hall}", "name": name}
                             for hall, name in CENTRES]},
        "web": {"users": [{"name": "bench", "role": "viewer", "token": TOKEN}], "tick_s": 3600},
    })
    service = CentralService(config, clock=clock)
    _serve_baseline(service)
    service.start()
    try:
        assert service.engine_cases is not None
        started = time.perf_counter()
        with service.engine_cases.alone() as store:
            seed_city(store, CityShape(open_cases=open_cases, alarms=max(16, open_cases // 300)), NOW)
        print(f"  seeded {open_cases:,} open cases in {time.perf_counter() - started:.1f} s", flush=True)
        yield service
    finally:
        service.stop()
        broker.kill()


def _serve_baseline(service: CentralService) -> None:
    """The earlier page at /baseline/screen, its assets beside it (its API is still central's)."""

    def page() -> FileResponse:
        return FileResponse(BASELINE / "screen.html", headers={"Cache-Control": "no-cache"})

    service.app.add_api_route("/baseline/screen", page, include_in_schema=False)
    service.app.mount("/baseline", StaticFiles(directory=BASELINE), name="baseline")


def server_times(service: CentralService, path: str) -> tuple[float, float, int]:
    """(median ms, worst ms, response bytes) of `path` asked for after a change, over HTTP."""
    took: list[float] = []
    size = 0
    with httpx.Client(base_url=service.base_url, headers={"Authorization": f"Bearer {TOKEN}"},
                      timeout=120) as http:
        http.get(path).raise_for_status()  # warm: the first answer also pays for the SQLite cache
        for _ in range(SERVER_ROUNDS):
            service.feed.touch()
            started = time.perf_counter()
            answer = http.get(path)
            took.append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()
            size = len(answer.content)
    return statistics.median(took), max(took), size


@contextmanager
def chromium() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="bench-screen-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(120)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1920, "height": 1080, "deviceScaleFactor": 1, "mobile": False})
    try:
        yield driver
    finally:
        driver.quit()


def _wait(what: Callable[[], Any], timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := what()):
        if time.monotonic() > deadline:
            raise TimeoutError("the page did not render in time")
        time.sleep(0.05)  # the poll interval of a deadline-bounded wait
    return found


def browser_times(service: CentralService, driver: Any, path: str, first: str, updates: str
                  ) -> tuple[float, float, float | None, int]:
    """(best, median first render ms, a live update ms, page height px) of one page."""
    renders = []
    for _ in range(PAGE_LOADS):
        driver.get(f"{service.base_url}{path}")
        renders.append(float(_wait(lambda: driver.execute_script(f"return {first};"))))
    _wait(lambda: driver.execute_script("return window.hallwatchScreen && true;"))
    height = int(driver.execute_script("return document.documentElement.scrollHeight;"))
    # A live change: an escalation announced on the stream, as the engine's tick announces them.
    _wait(lambda: driver.execute_script("return document.getElementById('link').dataset.state === 'live';"))
    before = len(driver.execute_script(f"return {updates} || [];"))
    service.feed.publish("escalation", {"case_id": "SC-01-000001", "stage": "yellow_card",
                                        "hall": "hall-01", "unit": "民政局", "at": NOW})

    def updated() -> Any:
        done = driver.execute_script(f"return {updates} || [];")
        return len(done) > before and done

    try:
        done = _wait(updated, 30)
        update: float | None = float(done[-1])
    except TimeoutError:
        update = None
    return min(renders), statistics.median(renders), update, height


def main() -> None:
    rows = []
    for size in SIZES:
        print(f"\n{size:,} open cases over 8 centres", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-screen-") as root, city(Path(root), size) as service:
            new_server = server_times(service, "/api/screen/board")
            old_server = server_times(service, "/api/screen")
            with chromium() as driver:
                driver.get(f"{service.base_url}/screen?token={TOKEN}")  # the cookie, for both pages
                new_page = browser_times(service, driver, "/screen?rotate=0",
                                         "window.hallwatchScreen && window.hallwatchScreen.timings.first",
                                         "window.hallwatchScreen.timings.updates")
                old_page = browser_times(service, driver, "/baseline/screen",
                                         "window.hallwatchScreen && window.hallwatchScreen.firstRenderMs",
                                         "window.hallwatchScreen.updateMs")
            rows.append((size, new_server, old_server, new_page, old_page))
            _print_size(size, new_server, old_server, new_page, old_page)
    print("\nsummary (ms; the earlier page in brackets)")
    print(f"{'open cases':>10}  {'server median':>22}  {'first render (best)':>24}  {'live update':>20}"
          "  height px")
    for size, new_server, old_server, new_page, old_page in rows:
        print(f"{size:>10,}  {new_server[0]:>9.1f} [{old_server[0]:>9.1f}]"
              f"  {new_page[0]:>11.0f} [{old_page[0]:>9.0f}]"
              f"  {_ms(new_page[2]):>8} [{_ms(old_page[2]):>8}]  {new_page[3]} [{old_page[3]}]")


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _print_size(size: int, new_server: tuple[float, float, int], old_server: tuple[float, float, int],
                new_page: tuple[float, float, float | None, int],
                old_page: tuple[float, float, float | None, int]) -> None:
    print(f"  server, board (SQL counts)      median {new_server[0]:7.1f} ms  worst {new_server[1]:7.1f} ms"
          f"  {new_server[2]:>10,} bytes")
    print(f"  server, earlier /api/screen     median {old_server[0]:7.1f} ms  worst {old_server[1]:7.1f} ms"
          f"  {old_server[2]:>10,} bytes")
    for label, page in (("board page", new_page), ("earlier page", old_page)):
        print(f"  browser, {label:<22} first render best {page[0]:6.0f} ms  median {page[1]:6.0f} ms"
              f"  live update {_ms(page[2])} ms  page {page[3]} px tall", flush=True)


if __name__ == "__main__":
    main()
