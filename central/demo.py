"""The big screen for `hall demo`: central on a given port, cases in every light, the screen's URL.

The cases are entered through the case store's own door (validation, hash
chain, countdown), back-dated so that today each shows the light it is
named for; the engine's ticks then move them on as real days pass.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from central.cases.store import CaseStore
from central.cases.timebase import day_of, format_instant, midnight
from central.config import CentralConfig
from central.service import CentralService

LIMIT = 5
# Counted working days since acceptance -> the light it gives for a 5-working-day limit.
DAYS_FOR_STAGE = {"blue": 1, "yellow_light": LIMIT - 1, "red_light": LIMIT, "yellow_card": LIMIT + 1,
                  "red_card": LIMIT + 2, "supervision_letter": LIMIT + 3}

# Windows are named as the demo hall's queue names them ("1", "2", "3"), and each window's
# officer and unit are those its window caller logs in (hallwatch.demo.OFFICERS): one window,
# one name, in cases, ratings and the performance ranking alike.
DEMO_UNITS: list[dict[str, Any]] = [
    {"hall": "hall-01", "unit": "民政局", "window": "1", "matter": "老年人优待证",
     "officer": "李明", "stages": ["blue", "blue", "yellow_light", "red_light", "completed", "completed"]},
    {"hall": "hall-01", "unit": "人社局", "window": "2", "matter": "社会保险登记",
     "officer": "王芳", "stages": ["blue", "yellow_light", "yellow_card", "completed"]},
    {"hall": "hall-01", "unit": "市场监管局", "window": "3", "matter": "食品经营许可",
     "officer": "赵强", "stages": ["blue", "blue", "red_card"]},
    {"hall": "hall-01", "unit": "住建局", "window": "4", "matter": "建筑工程施工许可",
     "officer": "陈静", "stages": ["blue", "supervision_letter"]},
]


def seed_demo_cases(store: CaseStore, now: int, units: list[dict[str, Any]] | None = None) -> list[str]:
    """Enter demo cases whose light today is the one listed for them; returns their ids."""
    today = day_of(now)
    entered = []
    for u_index, unit in enumerate(units or DEMO_UNITS):
        for c_index, stage in enumerate(unit["stages"]):
            accepted_day = store.calendar.nth_before(today, DAYS_FOR_STAGE.get(stage, 3))
            accepted = midnight(accepted_day) + 9 * 3600 + 30 * 60
            case_id = f"DEMO-{u_index + 1:02d}{c_index + 1:02d}"
            store.submit({
                "case_id": case_id, "by": "demo", "hall": unit["hall"], "unit": unit["unit"],
                "window": unit["window"], "matter": unit["matter"], "project_category": "许可",
                "project_attribute": "承诺件", "contact_name": "市民" + str(c_index + 1),
                "contact_phone": f"1380000{u_index:02d}{c_index:02d}",
                "officer_name": unit["officer"], "officer_phone": f"1390000{u_index:02d}{c_index:02d}",
                "applied_at": format_instant(accepted - 1800), "accepted_at": format_instant(accepted),
                "limit": LIMIT,
            }, now=now)
            if stage == "completed":  # finished within its limit, and confirmed
                done = {"case_id": case_id, "by": unit["officer"],
                        "at": format_instant(accepted + 2 * 86400)}
                store.complete(done, now=now)
                store.confirm(done, now=now)
            entered.append(case_id)
    return entered


HALL_NAMES = {"hall-01": "市政务服务中心", "hall-centre": "市民服务中心", "hall-suzhou": "肃州区分中心",
              "hall-jinta": "金塔县分中心"}


DEMO_CITIZENS: dict[str, Any] = {
    # SMS through the simulation, day and night; booking open at any hour (the demo runs any time).
    "sms": {"backend": "simulated", "quiet_hours": None},
    "booking": {"open_on": "every_day", "lead_minutes": 0, "arrive_early_minutes": 60,
                "hours": {"opens": "00:00:00", "closes": "23:55:00", "break_from": None,
                          "break_until": None, "slot_minutes": 5}},
}


def demo_config(root: Path, broker_port: int, http_port: int, halls: list[tuple[str, str]],
                viewer_token: str, video: dict[str, Any] | None = None) -> CentralConfig:
    return CentralConfig.model_validate({
        "data_dir": str(root / "central"),
        "broker": {"port": broker_port},
        "http": {"host": "127.0.0.1", "port": http_port},
        "ingest": {"halls": [{"hall": hall, "gateway": gateway, "name": HALL_NAMES.get(hall)}
                             for hall, gateway in halls]},
        "web": {"users": [{"name": "demo-screen", "role": "viewer", "token": viewer_token}]},
        **DEMO_CITIZENS,
        **({"video": video} if video else {}),  # the hall's video links (docs/video.md)
    })


def start_demo_central(
    root: Path, broker_port: int, http_port: int,
    halls: list[tuple[str, str]] | None = None, video: dict[str, Any] | None = None,
) -> tuple[CentralService, str]:
    """Start central with HTTP on `http_port` and the demo's cases; returns it and the big screen's URL.

    The URL carries a fresh read-only token (the page turns it into a cookie).
    """
    token = secrets.token_urlsafe(16)
    halls = halls or [("hall-01", "gw-hall-01")]
    central = CentralService(demo_config(root, broker_port, http_port, halls, token, video))
    # The engine's demo halls have no gateway; they still get their names on screen.
    central.context.hall_names = {**HALL_NAMES, **central.context.hall_names}
    central.start()
    seed_central_demo(central)
    return central, screen_url(central, token)


def seed_central_demo(central: CentralService, *, other_halls: bool = True) -> list[str]:
    """Seed the demo's cases into a running central's case engine (no-op without one).

    Besides hall-01's cases (one per light), `other_halls` adds the case engine's own
    demo set (three more halls, a suspended and a corrected case).
    """
    engine = central.engine_cases
    if engine is None:
        return []
    now = central.clock.wall_ms() // 1000
    with engine.lock:
        ids = seed_demo_cases(engine.engine.store, now)
        if other_halls:
            from central.cases.demo import seed_demo_cases as seed_engine_demo

            ids += seed_engine_demo(engine.engine.store, now)
    central.tick()
    return ids


def screen_url(central: CentralService, token: str | None = None) -> str:
    return f"{central.base_url}/screen" + (f"?token={token}" if token else "")
