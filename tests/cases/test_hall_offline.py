"""A hall offline for days: its completions reach central late, and no false card is issued.

The real path: window w03's caller states the case facts (its officer logged
in), the hall's gateway receives them through its own receiver and authority
checks, forwards them through a real Mosquitto to central, whose ingest
measures the hall's watermark from the gateway's batches and heartbeats.
Central and the gateway share a clock the test moves by hand; the link goes
down by stopping the gateway, and the officer's completions wait in the
gateway's outbox meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central.cases.timebase import parse_instant
from central.service import CentralService
from contract.envelope import Batch, new_envelope
from gateway.config import GatewayConfig
from gateway.service import GatewayService
from spine.broker.runner import MosquittoBroker
from spine.clock import SimulatedClock
from tests.central.conftest import VIEWER_TOKEN, central_config, client
from tests.support import wait_until

HALL, GATEWAY = "hall-01", "gw-hall-01"
# Two working days from Mon 11-23: yellow card Thu 11-26, red card Fri 11-27.
CALLER, OFFICER = "caller-w03", "off-17"
ENTRY = {
    "by": OFFICER, "officer_id": OFFICER, "hall": HALL, "unit": "自然资源局", "window": "w03",
    "matter": "户外广告设置许可", "contact_name": "张三", "contact_phone": "13812345678",
    "officer_name": "李四", "officer_phone": "13900001111", "applied_at": "2026-11-23T09:30",
    "accepted_at": "2026-11-23T10:00", "limit": 2,
}
DONE_IN_TIME, LEFT_OPEN = "JQ-2026-0701", "JQ-2026-0702"


def ms(text: str) -> int:
    return parse_instant(text) * 1000


def gateway(root: Path, broker_port: int, clock: SimulatedClock) -> GatewayService:
    return GatewayService(GatewayConfig.model_validate({
        "gateway": {"id": GATEWAY, "hall": HALL},
        "store_path": str(root / "gateway" / "gateway.sqlite"),
        "hall_broker": {"port": broker_port},
        "central_broker": {"port": broker_port},
        "uplink": {"heartbeat_s": 0.5, "ack_timeout_s": 3},
        "devices": {"known": [{"id": CALLER, "kind": "caller", "window": "w03"}], "silence_s": 30},
        "ratings": {"officers": {OFFICER: {"name": "李四", "department": "自然资源局"}}},
    }), clock=clock)


class WindowCaller:
    """Window w03's caller as its gateway hears it: its facts in order, through the gateway's
    receiver (what the hall broker would hand it), its officer logged in first."""

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self.seq = 0

    def says(self, hall: GatewayService, *facts: tuple[str, dict[str, Any]]) -> None:
        events = []
        for type, body in facts:
            self.seq += 1
            events.append(new_envelope(device=CALLER, seq=self.seq, boot="caller-boot",
                                       time=self.clock.wall_ms(), mono=self.seq, type=type, body=body))
        batch = Batch(v=1, batch=f"caller-{self.seq}", sender=CALLER, boot="caller-boot",
                      sent_at=self.clock.wall_ms(), sent_mono=self.seq, events=events, last=self.seq)
        ack = hall.receiver.receive(f"hall/{HALL}/dev/{CALLER}/events", CALLER,
                                    batch.model_dump_json().encode())
        assert ack is not None and not ack.rejected and ack.error is None, ack

    def logs_in(self, hall: GatewayService) -> None:
        self.says(hall, ("queue.window_action", {"action": "login", "window": "w03", "officer": OFFICER,
                                                  "request": f"login-{self.seq + 1:04d}"}))


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(wall_ms=ms("2026-11-23T10:05"))


@pytest.fixture
def central(tmp_path: Path, broker: MosquittoBroker, clock: SimulatedClock
            ) -> Iterator[CentralService]:
    service = CentralService(central_config(tmp_path, broker.port, tick_s=3600), clock=clock)
    service.start()
    yield service
    service.stop()


def case(central: CentralService, case_id: str) -> dict[str, Any]:
    assert central.engine_cases is not None
    with central.engine_cases.alone() as store:
        return store.case(case_id).model_dump(mode="json")


def stored(central: CentralService, case_id: str) -> bool:
    try:
        case(central, case_id)
    except LookupError:
        return False
    return True


def hall_panel(central: CentralService) -> dict[str, Any]:
    with client(central, VIEWER_TOKEN) as http:
        answer: dict[str, Any] = http.get(f"/api/halls/{HALL}").json()
    return answer


def complete_until(central: CentralService) -> int:
    return hall_panel(central)["data_complete_until"] or 0


def cards(central: CentralService) -> list[tuple[str, str, bool]]:
    assert central.engine_cases is not None
    with central.engine_cases.alone() as store:
        return [(e.case_id or "", e.body["kind"], e.body["late"])
                for case_id in (DONE_IN_TIME, LEFT_OPEN) for e in store.history(case_id)
                if e.kind == "case.escalated"]


def test_a_hall_offline_for_two_days_gets_no_card_for_a_case_completed_in_time(
    tmp_path: Path, broker: MosquittoBroker, central: CentralService, clock: SimulatedClock
) -> None:
    hall = gateway(tmp_path, broker.port, clock)
    hall.start()
    window = WindowCaller(clock)
    window.logs_in(hall)
    window.says(hall, *(("case.accepted", {**ENTRY, "case_id": case_id})
                        for case_id in (DONE_IN_TIME, LEFT_OPEN)))
    wait_until(lambda: stored(central, DONE_IN_TIME) and stored(central, LEFT_OPEN), 30,
               "the hall's cases to reach central")
    wait_until(lambda: complete_until(central) >= ms("2026-11-23T10:05"), 30,
               "the hall's heartbeat to say its outbox is empty")
    central.tick()
    hall.stop()  # Monday 10:05: the hall's link to the city goes down

    # Wednesday afternoon, the due day: the officer completes one case in time. The facts
    # are stored at the hall and wait in its outbox.
    clock.set_wall(ms("2026-11-25T15:00"))
    offline = gateway(tmp_path, broker.port, clock)
    window.says(offline, ("case.completed", {"case_id": DONE_IN_TIME, "by": OFFICER,
                                             "at": "2026-11-25T15:00"}),
                ("case.completion_confirmed", {"case_id": DONE_IN_TIME, "by": OFFICER,
                                               "at": "2026-11-25T15:05"}))
    offline.db.close()

    # Friday morning, two days on: central ticks, knows nothing after Monday 10:05.
    clock.set_wall(ms("2026-11-27T10:00"))
    central.tick()
    assert cards(central) == []
    assert hall_panel(central)["data_incomplete_since"] == ms("2026-11-23T10:05")
    assert case(central, DONE_IN_TIME)["data_incomplete_since"] == "2026-11-23T10:05:00+08:00"

    # The link is back: the backlog drains, then a heartbeat says the hall is current.
    back = gateway(tmp_path, broker.port, clock)
    back.start()
    try:
        wait_until(lambda: case(central, DONE_IN_TIME)["confirmed_at"] is not None, 30,
                   "the late completion to reach central")
        wait_until(lambda: complete_until(central) >= ms("2026-11-27T10:00"), 30,
                   "the hall's watermark to catch up")
        central.tick()
    finally:
        back.stop()

    done = case(central, DONE_IN_TIME)
    assert (done["on_time"], done["days_taken"], done["issued"]) == (True, 2, [])
    # The case nobody completed is overdue: its cards come now, and say they are late.
    assert cards(central) == [(LEFT_OPEN, "yellow_card", True), (LEFT_OPEN, "red_card", True)]
    assert hall_panel(central)["data_incomplete_since"] is None
