"""Gammu for real: python-gammu's AT driver talking to a simulated modem on a socat pty, and its dummy driver.

The modem decodes every SMS-SUBMIT PDU it is given (tests/sms/pdu.py, written
from TS 23.040, not from Gammu), so these tests check the exact text, coding,
concatenation header and status-report request a phone would receive.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central.sms.platform import SmsPlatform
from central.sms.segments import PART_UNITS, ucs2_length
from central.sms.settings import GammuSettings, RetryPolicy
from spine.clock import SimulatedClock
from tests.sms.atmodem import AtModem
from tests.sms.conftest import CITIZEN, accepted_body, make_settings, wait_until

gammu = pytest.importorskip("gammu", reason="python-gammu is not installed (make setup installs it)")
pytestmark = pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")

GAMMU_INIT_PROBES = {"AT+MODE=2", "AT+CPROT=?", "AT+SYNCML=?", "AT$TSSPCSW=?"}
"""What Gammu asks to learn a phone's make (Motorola modes, OBEX); a SIM800 says ERROR to these."""
LONG_MATTER = "建设工程规划许可（含临时建设工程规划许可及其延续、变更）"


@pytest.fixture
def modem(tmp_path: Path) -> Iterator[AtModem]:
    instance = AtModem(tmp_path).start()
    yield instance
    instance.stop()


def gammurc(tmp_path: Path, modem: AtModem) -> Path:
    """The gammurc docs/citizens.md tells a technician to write, pointed at the simulated modem."""
    path = tmp_path / "gammurc"
    path.write_text(f"[gammu]\ndevice = {modem.host_path}\nconnection = at\n"
                    "atgen_setcnmi = 2,1,2,2,0\n", encoding="utf-8")
    return path


def modem_platform(tmp_path: Path, modem: AtModem, clock: SimulatedClock,
                   **gammu_settings: Any) -> SmsPlatform:
    settings = make_settings(
        tmp_path, backend="gammu",
        gammu=GammuSettings(gammurc=gammurc(tmp_path, modem), **{"send_timeout_s": 10.0, **gammu_settings}),
        retry=RetryPolicy(first_delay_s=0.5, max_delay_s=1, max_attempts=10))
    return SmsPlatform(settings, clock=clock)


def drain(platform: SmsPlatform, clock: SimulatedClock, fact_id: str, timeout: float = 60.0) -> bool:
    """Run worker passes (the clock moving past each retry) until the fact's messages are sent."""
    def sent() -> bool:
        clock.advance(1_000)
        platform.run_once()
        return all(m.state in ("sent", "delivered") for m in platform.messages(fact_id=fact_id))
    return wait_until(sent, timeout)


def test_a_long_chinese_notice_reaches_the_modem_as_ucs2_parts_that_decode_to_the_exact_text(
        tmp_path: Path, modem: AtModem, clock: SimulatedClock) -> None:
    platform = modem_platform(tmp_path, modem, clock)
    platform.notify("evt-1", "case.accepted", accepted_body(matter=LONG_MATTER), due_day="2026-12-21")
    platform.run_once()
    [message] = platform.messages()
    assert message.state == "sent", message.last_error
    assert message.parts == 2 and len(modem.accepted) == 2

    assert modem.texts_to(CITIZEN) == [message.text]  # decoded from the PDUs, UCS-2, in part order
    first, second = modem.accepted
    assert first.number == second.number == CITIZEN
    assert first.dcs == 0x08 and first.status_report_requested
    assert first.concat is not None and second.concat is not None
    assert (first.concat[0], first.concat[1:]) == (second.concat[0], (2, 1))
    assert second.concat[1:] == (2, 2)
    assert ucs2_length(first.text) == PART_UNITS
    assert first.sca == "8613800931500"  # the SIM's service centre (AT+CSCA?)
    assert set(modem.unknown) <= GAMMU_INIT_PROBES, modem.unknown
    assert "AT+CMGF=0" in modem.commands and "AT+CNMI=2,1,0,2,0" in modem.commands

    platform.run_once(poll=True)  # the network's status reports, stored on the SIM (CNMI ds=2)
    assert platform.messages()[0].state == "delivered"
    assert modem.storage == {}  # read and deleted
    platform.stop()


def test_a_reply_of_tuiding_read_from_the_sim_stops_messages_to_that_number(
        tmp_path: Path, modem: AtModem, clock: SimulatedClock) -> None:
    platform = modem_platform(tmp_path, modem, clock)
    modem.deliver("+86" + CITIZEN, "退订")
    platform.run_once(poll=True)
    assert platform.outbox.opted_out(CITIZEN)
    platform.notify("evt-1", "case.accepted", accepted_body())
    platform.run_once()
    assert platform.messages()[0].state == "opted_out"
    assert modem.accepted == [] and modem.storage == {}
    platform.stop()


def test_a_modem_unplugged_mid_send_keeps_the_message_queued_and_it_goes_out_once_when_back(
        tmp_path: Path, modem: AtModem, clock: SimulatedClock) -> None:
    platform = modem_platform(tmp_path, modem, clock, send_timeout_s=3.0)
    modem.unplug_at_pdu = 2  # pulled out while the second part is in flight
    platform.notify("evt-1", "case.accepted", accepted_body(matter=LONG_MATTER), due_day="2026-12-21")
    platform.run_once()
    [message] = platform.messages()
    assert (message.state, message.attempts) == ("queued", 1)
    assert "did not answer" in (message.last_error or "")

    clock.advance(1_000)
    platform.run_once()  # still unplugged: the device is not there
    assert "ERR_DEVICENOTEXIST" in (platform.messages()[0].last_error or "")

    modem.plug_in()
    assert drain(platform, clock, "evt-1")
    [message] = platform.messages()
    assert message.state == "sent"
    assert modem.texts_to(CITIZEN) == [message.text]  # every part once: the first was not sent again
    assert len(modem.accepted) == 2
    platform.stop()


def test_a_modem_gone_silent_cannot_freeze_the_worker_and_the_message_goes_after_a_power_cycle(
        tmp_path: Path, modem: AtModem, clock: SimulatedClock) -> None:
    platform = modem_platform(tmp_path, modem, clock, send_timeout_s=2.0)
    modem.silent_after_pdu = 1  # takes the PDU, then never answers (Gammu alone would wait ~99 s)
    platform.notifier.phone_book = lambda recipient, subject: CITIZEN  # central's look-up by case id
    platform.notify("evt-2", "case.completed", {"case_id": "JQ-1", "by": "o", "at": "2026-12-10T16:30:00"})
    platform.run_once()
    [message] = platform.messages()
    assert message.state == "queued" and "did not answer within 2 s" in (message.last_error or "")
    assert platform.sender.describe()["restarts"] == 1

    modem.power_cycle()
    assert drain(platform, clock, "evt-2")
    assert len(modem.texts_to(CITIZEN)) == 1
    platform.stop()


def test_gammus_dummy_driver_sends_and_reads_a_reply_without_any_modem(tmp_path: Path,
                                                                       clock: SimulatedClock) -> None:
    phone = tmp_path / "dummy-phone"
    (phone / "sms" / "1").mkdir(parents=True)
    rc = tmp_path / "gammurc"
    rc.write_text(f"[gammu]\nmodel = dummy\nconnection = none\ndevice = {phone}\n", encoding="utf-8")
    settings = make_settings(tmp_path, backend="gammu", gammu=GammuSettings(gammurc=rc, send_timeout_s=10))
    platform = SmsPlatform(settings, clock=clock)
    platform.notify("evt-1", "case.accepted", accepted_body(), due_day="2026-12-21")
    platform.run_once()
    assert platform.messages()[0].state == "sent"

    # A reply in the dummy phone's inbox, in Gammu's own backup format.
    gammu.SaveSMSBackup(str(phone / "sms" / "1" / "1"), [{
        "Number": "+86" + CITIZEN, "Text": "TD", "SMSC": {"Location": 1}, "Type": "Deliver",
        "Coding": "Unicode_No_Compression", "State": "UnRead"}])
    platform.run_once(poll=True)
    assert platform.outbox.opted_out(CITIZEN)
    assert list((phone / "sms" / "1").iterdir()) == []
    platform.stop()
