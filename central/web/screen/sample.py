"""A city's open cases for the big screen's benchmark and browser tests: 8 centres, about 40 units.

Each case is one JSON line for `central.cases.importer.import_lines` (the
store's own door: validation, hash chain, countdown), back-dated by working
days so that at `now` it shows the light it was drawn for, the way
`central/demo.py` seeds the demo. Some cases are accepted and some completed
today, so today's figures are not empty. Nothing in the service uses this.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from central.cases.calendar import WorkCalendar
from central.cases.importer import ImportReport, import_lines
from central.cases.store import CaseStore
from central.cases.timebase import Day, Instant, day_of, format_instant, midnight

CENTRES = (
    ("hall-01", "酒泉市政务服务中心"), ("hall-02", "肃州区分中心"), ("hall-03", "玉门市分中心"),
    ("hall-04", "敦煌市分中心"), ("hall-05", "金塔县分中心"), ("hall-06", "瓜州县分中心"),
    ("hall-07", "肃北县分中心"), ("hall-08", "阿克塞县分中心"),
)
UNITS = (
    "民政局", "人社局", "市场监管局", "住建局", "自然资源局", "公安局", "卫健委", "教育局",
    "交通运输局", "农业农村局", "水务局", "生态环境局", "商务局", "文旅局", "税务局", "医保局",
    "退役军人事务局", "应急管理局", "林草局", "司法局", "统计局", "发改委", "工信局", "财政局",
    "审计局", "城管局", "气象局", "残联", "公积金中心", "不动产登记中心", "人防办", "档案局",
    "民宗局", "科技局", "地震局", "烟草局", "供电公司", "燃气公司", "邮政管理局", "消防救援支队",
)
MATTERS = ("食品经营许可", "社会保险登记", "建筑工程施工许可", "户外广告设置许可", "户籍迁移",
           "公共场所卫生许可", "营业执照设立登记", "道路运输经营许可")
OFFICERS = ("李明", "王芳", "赵强", "陈静", "孙磊", "周杰", "吴霞", "郑伟", "刘洋", "黄敏")
LIMIT = 5
"""The working-day limit of every case that is not blue: its light follows from its age alone."""
DAYS_FOR_STAGE = {"yellow_light": LIMIT - 1, "red_light": LIMIT, "yellow_card": LIMIT + 1,
                  "red_card": LIMIT + 2, "supervision_letter": LIMIT + 3}
"""Working days since acceptance -> the light a 5-working-day case shows (`central/demo.py`)."""
ALARM_STAGES = ("yellow_card", "red_card", "supervision_letter")


@dataclass(frozen=True)
class CityShape:
    """How many open cases, and how many of them are yellow cards or worse."""

    open_cases: int = 5000
    alarms: int = 16
    centres: int = 8
    units: int = 40
    completed_today: int | None = None
    """Cases accepted earlier and completed (and confirmed) today; default 4% of the open ones."""
    seed: int = 16

    def stages(self) -> Counter[str]:
        """How many open cases of each light: mostly blue, as in a working city."""
        rest = self.open_cases - self.alarms
        drawn = Counter({"yellow_light": rest * 8 // 100, "red_light": rest * 4 // 100,
                         "suspended": rest * 4 // 100})
        drawn["blue"] = rest - sum(drawn.values())
        drawn["yellow_card"] = self.alarms - self.alarms * 3 // 10 - self.alarms // 5
        drawn["red_card"] = self.alarms * 3 // 10
        drawn["supervision_letter"] = self.alarms // 5
        return drawn


def city_lines(shape: CityShape, calendar: WorkCalendar, now: Instant) -> Iterator[str]:
    """The import lines of the city's cases (entries, then each case's later facts)."""
    rng = random.Random(shape.seed)
    today = day_of(now)
    centres = CENTRES[:shape.centres]
    stages = [stage for stage, n in sorted(shape.stages().items()) for _ in range(n)]
    rng.shuffle(stages)
    done_today = shape.completed_today if shape.completed_today is not None else shape.open_cases // 25
    for number, stage in enumerate([*stages, *["completed"] * done_today]):
        hall, _name = centres[number % len(centres)]
        # The city centre hosts every unit; a county centre about half of them.
        units = UNITS[:shape.units] if number % len(centres) == 0 else UNITS[:max(1, shape.units // 2)]
        unit = units[rng.randrange(len(units))]
        officer = OFFICERS[rng.randrange(len(OFFICERS))]
        limit, back = _limit_and_age(stage, rng)
        accepted_day = calendar.nth_before(today, back)
        accepted = _accepted_at(accepted_day, today, now, rng)
        case_id = f"SC-{hall[-2:]}-{number + 1:06d}"
        yield json.dumps({
            "case_id": case_id, "by": f"{hall}-window", "hall": hall, "unit": unit,
            "window": f"w{rng.randrange(1, 13):02d}", "matter": MATTERS[rng.randrange(len(MATTERS))],
            "project_category": "许可", "project_attribute": "承诺件",
            "contact_name": f"市民{number % 997}", "contact_phone": f"138{number:08d}",
            "officer_name": officer, "officer_phone": f"139{number:08d}",
            "applied_at": format_instant(accepted - 1800), "accepted_at": format_instant(accepted),
            "limit": limit,
        }, ensure_ascii=False)
        yield from _later_facts(case_id, stage, officer, accepted, today, now, rng)


def seed_city(store: CaseStore, shape: CityShape, now: Instant) -> ImportReport:
    """Import the city's cases into a case store and judge them as of `now`."""
    return import_lines(store, city_lines(shape, store.calendar, now), at=now)


def _limit_and_age(stage: str, rng: random.Random) -> tuple[int, int]:
    """(working-day limit, working days since acceptance) that give `stage` today."""
    if stage in DAYS_FOR_STAGE:
        return LIMIT, DAYS_FOR_STAGE[stage]
    if stage == "completed":
        return 20, 2 + rng.randrange(8)
    limit = rng.choice((5, 10, 20))
    # Blue (or suspended while still blue); one in twenty accepted today.
    return limit, 0 if rng.random() < 0.05 else 1 + rng.randrange(limit - 3)


def _accepted_at(day: Day, today: Day, now: Instant, rng: random.Random) -> Instant:
    at = midnight(day) + 8 * 3600 + 30 * 60 + rng.randrange(7 * 3600)
    # A case accepted today was accepted before now.
    return min(at, now - 600 - rng.randrange(3600)) if day == today else at


def _later_facts(case_id: str, stage: str, officer: str, accepted: Instant, today: Day, now: Instant,
                 rng: random.Random) -> Iterator[str]:
    def fact(kind: str, at: Instant, **extra: str) -> str:
        body = {"case_id": case_id, "by": officer, "at": format_instant(at), **extra}
        return json.dumps({"type": kind, "body": body}, ensure_ascii=False)

    if stage == "suspended":
        yield fact("case.suspended", min(accepted + 3600, now - 60), reason="expert_review",
                   note="专家评审")
    elif stage == "completed":
        # Done today, before now: between midnight (or acceptance) and ten minutes ago.
        done = max(midnight(today), accepted + 60, now - 600 - rng.randrange(3600))
        yield fact("case.completed", done)
        yield fact("case.completion_confirmed", done + 60)
