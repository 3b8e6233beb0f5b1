"""Fixtures of the SMS tests: settings on a temporary store, a hand-driven clock, recorded fact bodies."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from central.sms.platform import SmsPlatform
from central.sms.senders.simulated import SimulatedSender
from central.sms.settings import RetryPolicy, SmsSettings
from spine.clock import SimulatedClock
from spine.storeurl import StoreUrl
from tests.central.stores import migrated
from tests.pg import pg_cluster, pg_database  # noqa: F401 - fixtures

SHANGHAI = ZoneInfo("Asia/Shanghai")
CITIZEN = "13912345678"
OFFICER = "13698765432"


def hall_time(text: str) -> int:
    """ms since the epoch of a hall wall-clock time, e.g. '2026-11-23 10:00'."""
    return int(datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).timestamp() * 1000)


def accepted_body(case_id: str = "JQ-2026-1123-0001", phone: str = CITIZEN, **changes: Any) -> dict[str, Any]:
    """A `case.accepted` body as an approval system sends it."""
    body: dict[str, Any] = {
        "case_id": case_id, "by": "officer-07", "hall": "hall-01", "unit": "市场监督管理局", "window": "w03",
        "matter": "食品经营许可", "project_category": "许可", "project_attribute": "即办件",
        "contact_name": "张三", "contact_phone": phone, "officer_name": "李四", "officer_id": "officer-07",
        "officer_phone": OFFICER, "applied_at": "2026-11-23T09:40:00", "accepted_at": "2026-11-23T10:00:00",
        "limit": 20, "limit_unit": "workdays",
    }
    body.update(changes)
    return body


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll `condition` until it holds or `timeout` passes; the caller asserts the result."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            return False
        pause.wait(0.01)
    return True


def make_settings(tmp_path: Path, **changes: Any) -> SmsSettings:
    """Settings with a store in `tmp_path`, no quiet hours and quick retries unless a test says otherwise."""
    values: dict[str, Any] = {
        "store": tmp_path / "sms.sqlite", "quiet_hours": None,
        "retry": RetryPolicy(first_delay_s=1, max_delay_s=60, max_attempts=5), "poll_s": 0.05,
    }
    values.update(changes)
    return SmsSettings(**values)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(hall_time("2026-11-23 10:00"))


@pytest.fixture
def sender() -> SimulatedSender:
    return SimulatedSender()


@pytest.fixture(params=["sqlite", "postgresql"])
def sms_store(request: pytest.FixtureRequest) -> StoreUrl | None:
    """Where the outbox lives: its own file (None: `settings.store`, as beside a SQLite central) or
    central's PostgreSQL database, migrated as `hall central migrate` leaves it."""
    if request.param == "sqlite":
        return None
    return migrated(request.getfixturevalue("pg_database"))


@pytest.fixture
def platform(tmp_path: Path, clock: SimulatedClock, sender: SimulatedSender,
             sms_store: StoreUrl | None) -> Iterator[SmsPlatform]:
    instance = SmsPlatform(make_settings(tmp_path), clock=clock, sender=sender, store=sms_store)
    yield instance
    instance.stop()
