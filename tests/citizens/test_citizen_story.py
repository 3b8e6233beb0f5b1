"""One citizen's story, end to end, on real parts: booked online -> checked in at the kiosk ->
called -> phone entered at the window -> case accepted -> SMS decoded at the simulated modem ->
the progress page shows it -> completed -> the completion SMS.

A real Mosquitto; central with Gammu driving a simulated AT modem on a socat pty
(`tests/sms/atmodem.py`, every PDU decoded); the hall's gateway, a kiosk printing
to a simulated printer and window 1's caller, in this process. The booking is
made while the hall is offline: the list reaches the kiosk when the gateway connects.
"""

from __future__ import annotations

import re
import shutil
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from central.cases.timebase import format_instant
from central.config import CentralConfig
from central.queue_stats import contact_for
from central.service import CentralService
from edge.queue_kiosk.kiosk import Kiosk
from edge.queue_kiosk.printer.sim import SimulatedPrinter
from edge.queue_kiosk.printer.stream import text_lines
from edge.runtime.hardware.keys import SimulatedKeypad
from edge.window_caller.caller import WindowCaller
from spine.broker.runner import MosquittoBroker
from tests.central.hall import start_gateway
from tests.kiosk.conftest import caller_config, kiosk_config
from tests.kiosk.test_window_calling import press
from tests.sms.atmodem import AtModem
from tests.support import wait_until

pytest.importorskip("gammu", reason="python-gammu is not installed (make setup installs it)")
pytestmark = pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")

HALL, CITIZEN, CASE = "hall-01", "13912345678", "JQ-2026-STORY-0001"
OFFICER = "101"  # 王小明 of 市场监管局, bookable at window 1 for 食品经营许可 (the embedded guide)


@pytest.fixture
def modem(tmp_path: Path) -> Iterator[AtModem]:
    instance = AtModem(tmp_path).start()
    yield instance
    instance.stop()


@pytest.fixture
def printer() -> Iterator[SimulatedPrinter]:
    sim = SimulatedPrinter().start()
    yield sim
    sim.stop()


def central_config(root: Path, broker_port: int, modem: AtModem) -> CentralConfig:
    gammurc = root / "gammurc"
    gammurc.write_text(f"[gammu]\ndevice = {modem.host_path}\nconnection = at\natgen_setcnmi = 2,1,2,2,0\n",
                       encoding="utf-8")
    return CentralConfig.model_validate({
        "data_dir": str(root / "central"),
        "broker": {"port": broker_port},
        "http": {"host": "127.0.0.1", "port": 0},
        "ingest": {"halls": [{"hall": HALL, "gateway": "gw-hall-01", "name": "市政务服务中心"}]},
        "web": {"tick_s": 0.5},
        "sms": {"backend": "gammu", "gammu": {"gammurc": str(gammurc), "send_timeout_s": 10},
                "quiet_hours": None, "poll_s": 0.1,
                "retry": {"first_delay_s": 0.5, "max_delay_s": 1, "max_attempts": 20}},
        "sms_feed": {"poll_s": 0.1},
        # Open whenever the test runs: every day, all day, in five-minute slots bookable at once.
        "booking": {"open_on": "every_day", "lead_minutes": 0, "arrive_early_minutes": 60,
                    "hours": {"opens": "00:00:00", "closes": "23:55:00", "break_from": None,
                              "break_until": None, "slot_minutes": 5}},
    })


def sms_to(modem: AtModem, count: int, what: str, central: CentralService) -> list[str]:
    def decoded() -> list[str]:
        try:
            texts = modem.texts_to(CITIZEN)
        except AssertionError:  # a long message caught between its parts
            return []
        return texts if len(texts) >= count else []

    try:
        return wait_until(decoded, 90, what)
    except AssertionError as timed_out:  # say where the message stopped: feed, outbox or modem
        raise AssertionError(f"{timed_out}\n{where_the_sms_are(modem, central)}") from None


def where_the_sms_are(modem: AtModem, central: CentralService) -> str:
    platform = central.citizens.sms
    outbox = [] if platform is None else [
        (m.id, m.fact_id, m.state, m.parts, m.attempts, m.last_error,
         platform.outbox.attempts(m.id)) for m in platform.outbox.messages()]
    submits = [(s.number, s.concat, len(s.text)) for s in modem.accepted]
    return (f"feed: {central.citizens.diagnostics()['sms_feed']}\noutbox: {outbox}\n"
            f"modem accepted: {submits}\nPDUs written to the modem: {len(modem.received_pdus)}\n"
            f"central's threads, where each stands:\n{thread_stacks()}")


def thread_stacks() -> str:
    """Each live thread's innermost frames: a thread stuck on a lock shows where."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    return "\n".join(f"-- {names.get(ident, ident)}\n" + "".join(traceback.format_stack(frame)[-8:])
                     for ident, frame in sys._current_frames().items())


def progress(web: httpx.Client) -> str:
    answer = web.post("/public/progress", data={"case_id": CASE, "tail": CITIZEN[-4:]})
    found = re.search(r'data-stage="([^"]+)"', answer.text)
    return found.group(1) if found else ""


def test_a_citizen_books_online_is_served_and_hears_of_the_case_by_sms_until_it_is_done(
        tmp_path: Path, broker: MosquittoBroker, modem: AtModem, printer: SimulatedPrinter) -> None:
    central = CentralService(central_config(tmp_path, broker.port, modem))
    central.start()
    parts: list[Any] = []
    try:
        web = httpx.Client(base_url=central.base_url, timeout=20)
        parts.append(web)

        # Booked online, the hall's gateway not running yet.
        slots = web.get(f"/public/booking/scjg-spjy/{HALL}/{OFFICER}").text
        day = re.search(r'name="day" value="([\d-]+)"', slots)
        slot = re.search(r'name="slot" value="(\d\d:\d\d)"', slots)
        assert day and slot, "a slot to book today"
        booked = web.post(f"/public/booking/scjg-spjy/{HALL}/{OFFICER}",
                          data={"day": day.group(1), "slot": slot.group(1), "phone": CITIZEN}).text
        code = re.search(r'data-code="(\d{6})"', booked)
        assert code is not None, booked
        [booking_sms] = sms_to(modem, 1, "the booking's SMS at the modem", central)
        assert f"预约码{code.group(1)}" in booking_sms and "食品经营许可" in booking_sms

        # The hall comes online: its gateway, a kiosk and window 1's caller.
        gateway = start_gateway(tmp_path, broker.port, [
            {"id": "kiosk-1", "kind": "kiosk"}, {"id": "caller-1", "kind": "caller", "window": "1"}],
            ratings={"officers": {OFFICER: {"name": "王小明", "department": "市场监管局"}}})
        parts.append(gateway)
        keypad = SimulatedKeypad()
        kiosk = Kiosk(kiosk_config(tmp_path, broker_port=broker.port, printer_port=printer.port),
                      keypad=keypad)
        kiosk.start()
        parts.append(kiosk)
        caller = WindowCaller(caller_config(tmp_path, broker_port=broker.port, window="1"))
        caller.start()
        parts.append(caller)
        wait_until(lambda: kiosk.store.appointment(code.group(1)), 30, "the booking to reach the kiosk")

        # Checked in at the kiosk with the code.
        for key in code.group(1):
            keypad.press(key)
        keypad.press("enter")
        [job] = printer.wait_for_jobs(1)
        ticket = next(line for line in text_lines(job.tokens) if re.fullmatch(r"A\d{3}", line))
        assert f"预约号 {code.group(1)}" in text_lines(job.tokens)
        bookings = central.citizens.bookings
        wait_until(lambda: (b := bookings.get(code.group(1))) and b.state == "checked_in", 30,
                   "central to learn the citizen came")

        # Called at window 1 by the booked officer; the citizen types a phone number there.
        assert press(caller, *OFFICER, "login")["ok"]
        called = press(caller, "call_next")
        assert called["current"]["ticket"] == ticket
        for digit in CITIZEN:
            caller.key(digit)
        assert caller.key("enter") == "contact"
        visit_day = called["current"]["day"]
        wait_until(lambda: contact_for(central.store.query, HALL, visit_day, ticket) == CITIZEN, 30,
                   "the phone given at the window to reach central (sealed)")

        # The case is accepted at the window, with the number the citizen gave.
        now = int(central.clock.wall_ms() / 1000)
        caller.agent.record("case.accepted", {
            "case_id": CASE, "by": OFFICER, "officer_id": OFFICER, "hall": HALL, "unit": "市场监管局",
            "window": "1", "matter": "食品经营许可", "project_category": "许可",
            "project_attribute": "承诺件",
            "contact_name": "张三", "contact_phone": CITIZEN, "officer_name": "王小明",
            "officer_phone": "13900001111", "applied_at": format_instant(now - 300),
            "accepted_at": format_instant(now), "limit": 20})
        _, accepted_sms = sms_to(modem, 2, "the acceptance SMS at the modem", central)
        assert f"受理编号{CASE}" in accepted_sms and "办理时限20个工作日" in accepted_sms
        assert "预计" in accepted_sms and "前办结" in accepted_sms
        assert wait_until(lambda: progress(web) in ("已受理", "办理中") and progress(web), 30,
                          "the progress page to show the case")

        # Completed at the window: the page says so, and so does the last SMS.
        caller.agent.record("case.completed", {"case_id": CASE, "by": OFFICER,
                                               "at": format_instant(int(central.clock.wall_ms() / 1000))})
        wait_until(lambda: progress(web) == "已办结", 30, "the progress page to show it done")
        *_, done_sms = sms_to(modem, 3, "the completion SMS at the modem", central)
        assert f"受理编号{CASE}）已于" in done_sms and "办结" in done_sms and "领取办理结果" in done_sms
        assert len(modem.texts_to(CITIZEN)) == 3  # each fact once
    finally:
        for part in reversed(parts):
            (part.close if isinstance(part, httpx.Client) else part.stop)()
        central.stop()
