"""Central with the citizens' platform on: SMS through the simulated sender, booking, the public site.

Central runs on a hand-set clock (Monday 2026-11-23 10:05, a working day); its
engine ticks only when a test says so. The SMS worker and feed run on their own
threads with short pauses, so a test waits for a text with `texts_to`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central.cases.timebase import parse_instant
from central.config import CentralConfig
from central.service import CentralService
from central.sms.senders.simulated import SimulatedSender
from spine.broker.runner import MosquittoBroker
from spine.clock import SimulatedClock
from spine.storeurl import StoreUrl
from tests.central.conftest import central_config, central_database, on_database  # noqa: F401 (a fixture)
from tests.support import wait_until

HALL = "hall-01"
CITIZEN = "13912345678"
OFFICER_PHONE = "13698765432"
MONDAY_MORNING = parse_instant("2026-11-23T10:05") * 1000
HOUR_MS = 3_600_000

SMS = {"backend": "simulated", "quiet_hours": None, "poll_s": 0.05,
       "retry": {"first_delay_s": 1, "max_delay_s": 5, "max_attempts": 5}}


def citizens_config(root: Path, broker_port: int, *, sms: bool = True, **sections: Any) -> CentralConfig:
    """The central suite's configuration (its API users), with the engine ticked by hand and the
    citizens' sections; `sections` are merged into them."""
    extra: dict[str, Any] = {"sms_feed": {"poll_s": 0.05}}
    if sms:
        extra["sms"] = SMS
    for key, value in sections.items():
        extra[key] = {**extra.get(key, {}), **value}
    return central_config(root, broker_port, tick_s=3600).model_copy(update={
        name: getattr(CentralConfig.model_validate(extra), name) for name in extra})


def entry(case_id: str, phone: str = CITIZEN, **changes: Any) -> dict[str, Any]:
    """A `case.accepted` as an approval system enters it (20 working days from Monday 10:00)."""
    return {
        "case_id": case_id, "by": "officer-07", "hall": HALL, "unit": "市场监管局", "window": "1",
        "matter": "食品经营许可", "project_category": "许可", "project_attribute": "承诺件",
        "contact_name": "张三", "contact_phone": phone, "officer_name": "李四", "officer_id": "officer-07",
        "officer_phone": OFFICER_PHONE, "applied_at": "2026-11-23T09:40", "accepted_at": "2026-11-23T10:00",
        "limit": 20, **changes,
    }


def record(central: CentralService, kind: str, body: dict[str, Any]) -> None:
    """A case fact through the case store's own door (as the API or an import would)."""
    assert central.engine_cases is not None
    with central.engine_cases.alone() as store:
        store.record(kind, body)


def sender(central: CentralService) -> SimulatedSender:
    assert central.citizens.sms is not None
    found = central.citizens.sms.sender
    assert isinstance(found, SimulatedSender)
    return found


def texts_to(central: CentralService, phone: str, count: int, what: str) -> list[str]:
    """Wait until `phone` was sent `count` texts; returns them in order."""
    def sent() -> list[str]:
        texts = sender(central).texts_to(phone)
        return texts if len(texts) >= count else []

    return wait_until(sent, 20, what)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(wall_ms=MONDAY_MORNING)


def running(root: Path, broker: MosquittoBroker, clock: SimulatedClock, database_at: StoreUrl | None,
            **sections: Any) -> CentralService:
    """Central started on `database_at` (None: its SQLite files), the citizens' `sections` merged in."""
    service = CentralService(on_database(citizens_config(root, broker.port, **sections), database_at),
                             clock=clock)
    service.start()
    return service


@pytest.fixture
def central(tmp_path: Path, broker: MosquittoBroker, clock: SimulatedClock,
            central_database: StoreUrl | None) -> Iterator[CentralService]:  # noqa: F811 (the fixture)
    service = running(tmp_path, broker, clock, central_database)
    yield service
    service.stop()
