"""End to end on a real Mosquitto: kiosk ticket, window caller, rating terminal, gateway, central."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from central.config import CentralConfig
from central.ratings import RatingBook
from central.service import CentralService
from edge.queue_kiosk.kiosk import Issued, Kiosk
from edge.queue_kiosk.printer.sim import SimulatedPrinter
from edge.rating_terminal.agent import RatingTerminal
from edge.rating_terminal.session import Phase
from edge.runtime.hardware.keys import SimulatedKeypad
from edge.window_caller.caller import WindowCaller
from gateway.config import GatewayConfig
from gateway.service import GatewayService
from spine.broker.runner import MosquittoBroker
from tests.kiosk.conftest import caller_config, kiosk_config
from tests.rating.conftest import FAST_UPLINK, HALL, terminal_config
from tests.support import wait_until

OFFICER_X = "1001"
SERVICES = [{"prefix": "A", "name": "市场主体登记", "windows": ["3"], "daily_limit": 300, "key": "1"}]


@dataclass
class Hall:
    broker: MosquittoBroker
    root: Path
    central: CentralService
    book: RatingBook
    gateway: GatewayService | None = None

    def start_gateway(self) -> None:
        self.gateway = GatewayService(GatewayConfig.model_validate({
            "gateway": {"id": "gw-hall-01", "hall": HALL},
            "hall_broker": {"port": self.broker.port},
            "central_broker": {"port": self.broker.port},
            "store_path": str(self.root / "gateway" / "gateway.sqlite"),
            "uplink": FAST_UPLINK,
            "devices": {"open_enrolment": True, "silence_s": 5,
                        "known": [{"id": "rating-w3", "kind": "rating", "window": "3"},
                                  {"id": "kiosk-1", "kind": "kiosk"},
                                  {"id": "caller-3", "kind": "caller", "window": "3"}]},
            "queue": {"board_delay_ms": 20},
            "ratings": {
                "officers": {OFFICER_X: {"name": "王小明", "department": "市场监管局"},
                             "2002": {"name": "李红", "department": "公安局"}},
                "defer_s": 1.0,
            },
        }))
        self.gateway.start()

    def stop_gateway(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None

    def central_count(self, type: str) -> int:
        return int(self.central.store.query("SELECT count(*) FROM events WHERE type = ?", (type,))[0][0])


@pytest.fixture
def hall(broker: MosquittoBroker, tmp_path: Path) -> Iterator[Hall]:
    central = CentralService(CentralConfig.model_validate({
        "data_dir": str(tmp_path / "central"), "broker": {"port": broker.port},
        "http": {"host": "127.0.0.1", "port": 0},
        "ingest": {"halls": [{"hall": HALL, "gateway": "gw-hall-01"}]},
    }))
    book = central.ratings
    central.start()
    instance = Hall(broker, tmp_path, central, book)
    instance.start_gateway()
    yield instance
    instance.stop_gateway()
    central.stop()


@pytest.fixture
def window3(
    hall: Hall, tmp_path: Path,
) -> Iterator[tuple[Kiosk, WindowCaller, RatingTerminal, SimulatedKeypad]]:
    printer = SimulatedPrinter().start()
    kiosk = Kiosk(kiosk_config(tmp_path, broker_port=hall.broker.port, printer_port=printer.port,
                               services=SERVICES))
    caller = WindowCaller(caller_config(tmp_path, broker_port=hall.broker.port, window="3"))
    keys = SimulatedKeypad("rating-w3")
    terminal = RatingTerminal(terminal_config(tmp_path, broker_port=hall.broker.port, window="3"),
                              keypad=keys)
    for part in (kiosk, caller, terminal):
        part.start()
    yield kiosk, caller, terminal, keys
    for part in (terminal, caller, kiosk):
        part.stop()
    printer.stop()


def press(caller: WindowCaller, *keys: str) -> dict[str, Any]:
    request = None
    for key in keys:
        request = caller.key(key)
    assert request is not None
    reply = caller.wait_reply(request, 20)
    assert reply is not None, f"no answer to {keys}"
    return reply


def test_a_visit_served_at_window_3_by_officer_x_rated_satisfied_appears_once_in_central(
    hall: Hall, window3: tuple[Kiosk, WindowCaller, RatingTerminal, SimulatedKeypad],
) -> None:
    kiosk, caller, terminal, keys = window3
    assert isinstance(kiosk.issue("A"), Issued)
    assert press(caller, *OFFICER_X, "login")["ok"]
    assert press(caller, "call_next")["current"]["ticket"] == "A001"
    assert press(caller, "complete")["ok"]
    wait_until(lambda: terminal.session.phase is Phase.ARMED, 20, "the terminal asks for a rating")
    keys.press("2")  # 满意
    keys.press("2")  # pressed again in enthusiasm: flagged, not counted

    wait_until(lambda: hall.book.satisfaction(), 30, "the rating at central")
    by_officer = {row.key: row for row in hall.book.satisfaction("officer")}
    by_window = {row.key: row for row in hall.book.satisfaction("window")}
    by_department = {row.key: row for row in hall.book.satisfaction("department")}
    assert set(by_officer) == {"王小明"} and by_officer["王小明"].grades["satisfied"] == 1
    assert by_officer["王小明"].rated == 1 and by_officer["王小明"].not_rated == 0
    assert set(by_window) == {"hall-01/3"} and by_window["hall-01/3"].rated == 1
    assert set(by_department) == {"市场监管局"} and by_department["市场监管局"].satisfaction_rate == 1.0
    ((visit_day, ticket, officer),) = hall.central.store.query(
        "SELECT day, ticket, officer FROM ratings")
    assert (ticket, officer) == ("A001", OFFICER_X)
    wait_until(lambda: hall.central_count("rating.key_flagged") == 1, 20, "the extra press kept for audit")
    assert hall.central_count("rating.recorded") == 1 and hall.central_count("rating.given") == 1
    assert hall.book.by("officer", None)["王小明"]["satisfied"] == 1


def test_a_terminal_cut_off_from_the_gateway_rates_on_the_officers_key_and_it_counts_later(
    hall: Hall, window3: tuple[Kiosk, WindowCaller, RatingTerminal, SimulatedKeypad],
) -> None:
    _kiosk, caller, terminal, keys = window3
    assert press(caller, *OFFICER_X, "login")["ok"]
    hall.stop_gateway()
    keys.press("please_rate")  # the officer asks; nobody tells the terminal about visits now
    assert terminal.session.phase is Phase.ARMED
    keys.press("5")  # 非常不满意
    graded = terminal.session.arming
    assert graded is not None and graded.graded_at is not None
    mash_ms = terminal.config.rating.mash_ms
    wait_until(lambda: terminal.clock.mono_ms() - graded.graded_at >= mash_ms, 5,  # type: ignore[operator]
               "the citizen reads the reasons")
    keys.press("3")  # reason: 多次跑
    wait_until(lambda: terminal.session.phase is not Phase.REASON, 10, "reason taken")
    assert terminal.agent.outbox.depth()[0] >= 2  # waiting in the outbox, not lost
    hall.start_gateway()
    wait_until(lambda: hall.book.followups(0), 30, "the bad rating and its follow-up at central")
    (row,) = hall.book.satisfaction("officer")
    assert (row.key, row.grades["very_dissatisfied"]) == ("王小明", 1)
    (followup,) = hall.book.followups(0)
    wait_until(lambda: hall.book.followups(0)[0].reason is not None, 20, "the reason at central")
    assert hall.book.followups(0)[0].reason == "多次跑、材料反复要求"
    assert followup.department == "市场监管局" and followup.state == "open"


def test_after_a_gateway_outage_its_arm_for_the_visit_rated_offline_is_ignored_and_the_next_rating_counts(
    hall: Hall, window3: tuple[Kiosk, WindowCaller, RatingTerminal, SimulatedKeypad],
) -> None:
    kiosk, caller, terminal, keys = window3
    assert isinstance(kiosk.issue("A"), Issued) and isinstance(kiosk.issue("A"), Issued)
    assert press(caller, *OFFICER_X, "login")["ok"]
    assert press(caller, "call_next")["current"]["ticket"] == "A001"
    hall.stop_gateway()
    assert caller.key("complete") is not None  # kept in the caller's outbox
    keys.press("please_rate")  # the officer asks; the gateway cannot
    keys.press("1")  # 非常满意, for A001
    rated = terminal.clock.mono_ms()
    # The gateway stays away until the citizen has gone (thank you shown, the terminal idle) and
    # longer than its defer_s (1 s here). Whichever device's outbox reaches it first, the rating
    # is A001's: a rating that arrives first waits for the caller's backlog; a "complete" that
    # arrives first arms the terminal for A001, which already has its outcome and ignores it.
    wait_until(lambda: terminal.session.phase is Phase.IDLE and terminal.clock.mono_ms() - rated >= 1500,
               10, "the citizen to leave")
    hall.start_gateway()
    wait_until(lambda: hall.central_count("rating.recorded") == 1, 30, "A001's rating at central")
    assert terminal.counts["arms_received"] <= 1
    assert terminal.session.phase is not Phase.ARMED  # A001 has its outcome: nothing to ask

    assert press(caller, "call_next")["current"]["ticket"] == "A002"  # the next citizen
    assert press(caller, "complete")["ok"]
    wait_until(lambda: terminal.session.phase is Phase.ARMED, 20, "the terminal asks about A002")
    keys.press("2")  # 满意
    wait_until(lambda: hall.central_count("rating.recorded") == 2, 30, "A002's rating at central")
    assert hall.central_count("rating.refused") == 0
    rows = hall.central.store.query("SELECT ticket, grade FROM ratings ORDER BY rated_at")
    assert rows == [("A001", "very_satisfied"), ("A002", "satisfied")]
