"""Looking at the big screen as a supervisor does: a 1920x1080 screen, and what is really in view."""

from __future__ import annotations

from typing import Any

from tests.support import wait_until

FULL_HD = (1920, 1080)

# An element is in view when its whole box is inside the viewport, inside every ancestor that clips,
# and what the screen shows at its centre is the element itself (nothing covers it).
IN_VIEW_JS = """
const inView = (e) => {
  const r = e.getBoundingClientRect();
  if (r.width <= 0 || r.height <= 0) return false;
  if (r.top < 0 || r.left < 0 || r.bottom > innerHeight + 0.5 || r.right > innerWidth + 0.5) return false;
  for (let a = e.parentElement; a; a = a.parentElement) {
    const s = getComputedStyle(a);
    if (s.overflow === 'visible' && s.overflowY === 'visible') continue;
    const c = a.getBoundingClientRect();
    if (r.top < c.top - 0.5 || r.bottom > c.bottom + 0.5 || r.left < c.left - 0.5 || r.right > c.right + 0.5)
      return false;
  }
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return hit !== null && (hit === e || e.contains(hit));
};
"""


def show_at(driver: Any, size: tuple[int, int] = FULL_HD) -> None:
    """Make the page's viewport exactly `size` CSS pixels, as a kiosk screen's."""
    width, height = size
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def in_view(driver: Any, selector: str, whole_text: bool = False) -> dict[str, bool]:
    """Every element matching `selector`, keyed by its text's first line (or all its text on one
    line): in view or not."""
    found = driver.execute_script(IN_VIEW_JS + """
        return [...document.querySelectorAll(arguments[0])].map((e) =>
          [arguments[1] ? e.innerText.replace(/\\s+/g, ' ').trim() : e.innerText.split('\\n')[0], inView(e)]);
    """, selector, whole_text)
    return {key: seen for key, seen in found}


def screen_state(driver: Any) -> dict[str, Any]:
    """The page's own record: loads, timings (ms), the alarm list's mode, the board it drew."""
    return driver.execute_script(  # type: ignore[no-any-return]
        "const s = window.hallwatchScreen; return s && {loads: s.loads, timings: s.timings,"
        " alarmMode: s.alarmMode, version: s.version, problem: s.problem, page: s.page,"
        " pinned: s.pinned, board: s.board};")


def first_screen(driver: Any) -> dict[str, Any]:
    return wait_until(lambda: (s := screen_state(driver)) and s["timings"]["first"] is not None and s,
                      60, "the screen's first full render")


def alarms_in_view(driver: Any) -> dict[str, Any]:
    """What the alarm column shows and whether each of its rows is in view."""
    return driver.execute_script(IN_VIEW_JS + """
        const rows = [...document.querySelectorAll('#alarms .alarm')];
        return {
          mode: document.getElementById('alarms').dataset.mode,
          cases: rows.filter((r) => r.dataset.alert).map((r) => [r.dataset.alert, inView(r)]),
          groups: rows.filter((r) => r.classList.contains('group') && !r.classList.contains('security')
                               && !r.classList.contains('anomaly'))
                      .map((r) => [Number(r.dataset.count), inView(r)]),
          security: rows.filter((r) => r.classList.contains('security'))
                        .map((r) => [Number(r.dataset.count || 1), inView(r)]),
          anomalies: rows.filter((r) => r.classList.contains('anomaly'))
                         .map((r) => [Number(r.dataset.count || 1), inView(r)]),
          total: document.getElementById('alarm-total').innerText,
        };
    """)


MINUTE = 60_000


def a_morning_queue(start: int) -> list[tuple[str, dict[str, Any], int]]:
    """Hall events of a short morning from `start` (ms): A001 served at window 3 by 王芳, A002 at
    that window now, A003 and B001 waiting (B001 since start + 2 min)."""
    day = {"day": "2026-11-23"}
    served = {**day, "ticket": "A001", "service": "A", "window": "3", "officer": "王芳",
              "at": start + 5 * MINUTE, "issued_at": start, "waiting_since": start}
    serving = {**day, "ticket": "A002", "service": "A", "window": "3", "officer": "王芳",
               "at": start + 20 * MINUTE, "issued_at": start + MINUTE, "waiting_since": start + MINUTE}
    return [
        ("queue.ticket_issued", {**day, "ticket": "A001", "service": "A"}, start),
        ("queue.ticket_issued", {**day, "ticket": "A002", "service": "A"}, start + MINUTE),
        ("queue.ticket_issued", {**day, "ticket": "B001", "service": "B"}, start + 2 * MINUTE),
        ("queue.ticket_issued", {**day, "ticket": "A003", "service": "A"}, start + 10 * MINUTE),
        ("queue.called", served, start + 5 * MINUTE),
        ("queue.served", {**day, "ticket": "A001", "window": "3", "at": start + 15 * MINUTE,
                          "service_ms": 10 * MINUTE}, start + 15 * MINUTE),
        ("queue.called", serving, start + 20 * MINUTE),
    ]
