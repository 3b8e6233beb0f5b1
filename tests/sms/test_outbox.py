"""Exactly once per fact: the durable SMS outbox and its worker, on a simulated sender and clock."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from central.sms.planning import Recipient
from central.sms.platform import SmsPlatform
from central.sms.senders.simulated import SimulatedSender
from central.sms.settings import GammuSettings, QuietHours, RateLimits, RetryPolicy
from spine.clock import SimulatedClock
from spine.engines import open_engine
from spine.storeurl import StoreUrl
from tests.sms.conftest import CITIZEN, OFFICER, accepted_body, hall_time, make_settings, wait_until

COMPLETED = {"case_id": "JQ-2026-1123-0001", "by": "officer-07", "at": "2026-12-10T16:30:00"}


def phone_book(recipient: Recipient, subject: str) -> str | None:
    """Central's look-up of a case's numbers, as the lead will wire it."""
    return {Recipient.CITIZEN: CITIZEN, Recipient.OFFICER: OFFICER}.get(recipient)


def test_a_fact_delivered_twice_sends_one_sms(platform: SmsPlatform, sender: SimulatedSender) -> None:
    first = platform.notify("evt-1", "case.accepted", accepted_body(), due_day="2026-12-21")
    again = platform.notify("evt-1", "case.accepted", accepted_body(), due_day="2026-12-21")
    platform.run_once()
    platform.run_once()
    assert first == again
    assert len(sender.texts_to(CITIZEN)) == 1
    [message] = platform.messages()
    assert (message.state, message.attempts, message.phone) == ("sent", 1, "139****5678")


def test_queued_messages_survive_a_restart_and_go_out_once(tmp_path: Path, clock: SimulatedClock,
                                                           sms_store: StoreUrl | None) -> None:
    before = SimulatedSender()
    first = SmsPlatform(make_settings(tmp_path), clock=clock, sender=before, store=sms_store)
    first.notify("evt-1", "case.accepted", accepted_body())
    first.stop()  # the power goes before the worker ran

    after = SimulatedSender()
    second = SmsPlatform(make_settings(tmp_path), clock=clock, sender=after, store=sms_store)
    second.notify("evt-1", "case.accepted", accepted_body())  # the gateway resends the fact
    second.run_once()
    second.stop()
    assert before.sent == [] and len(after.texts_to(CITIZEN)) == 1


def test_a_message_interrupted_while_sending_is_queued_again_at_start(tmp_path: Path, clock: SimulatedClock,
                                                                      sender: SimulatedSender,
                                                                      sms_store: StoreUrl | None) -> None:
    platform = SmsPlatform(make_settings(tmp_path), clock=clock, sender=sender, store=sms_store)
    [message_id] = platform.notify("evt-1", "case.accepted", accepted_body())
    assert platform.outbox.claim(message_id, "simulated", 1, clock.wall_ms())  # then kill -9
    platform.start()
    platform.worker.run_once()
    platform.stop()
    assert len(sender.texts_to(CITIZEN)) == 1


def test_a_dead_modem_keeps_the_message_queued_and_it_goes_out_when_the_modem_is_back(
        platform: SmsPlatform, sender: SimulatedSender, clock: SimulatedClock) -> None:
    sender.unplug()
    platform.notify("evt-1", "case.accepted", accepted_body())
    platform.run_once()
    [message] = platform.messages()
    assert (message.state, message.attempts, message.hold, message.last_error) == \
        ("queued", 1, "retry", "modem unplugged")
    assert platform.diagnostics()["sender_ok"] is False

    sender.plug_in()
    clock.advance(1_000)
    platform.run_once()
    assert platform.messages()[0].state == "sent" and len(sender.texts_to(CITIZEN)) == 1


def test_a_message_that_keeps_failing_is_marked_failed_with_its_error_and_can_be_retried(
        tmp_path: Path, clock: SimulatedClock, sender: SimulatedSender, sms_store: StoreUrl | None) -> None:
    settings = make_settings(tmp_path, retry=RetryPolicy(first_delay_s=1, max_delay_s=1, max_attempts=3))
    platform = SmsPlatform(settings, clock=clock, sender=sender, store=sms_store)
    [message_id] = platform.notify("evt-1", "case.accepted", accepted_body())
    sender.fail_next("+CMS ERROR: 38 network out of order", times=3)
    for _ in range(3):
        platform.run_once()
        clock.advance(1_000)
    [message] = platform.messages(state="failed")
    assert (message.attempts, message.last_error) == (3, "+CMS ERROR: 38 network out of order")
    assert [outcome for _, outcome, _ in platform.outbox.attempts(message_id)] == \
        ["started", "retry", "started", "retry", "started", "failed"]
    assert platform.diagnostics()["failed"][0]["last_error"] == "+CMS ERROR: 38 network out of order"

    assert platform.retry(message_id)
    platform.run_once()
    assert platform.messages()[0].state == "sent"
    platform.stop()


def test_a_refusal_for_good_fails_at_once_and_does_not_stop_the_other_messages(
        platform: SmsPlatform, sender: SimulatedSender) -> None:
    sender.fail_next("platform refused: code='E_NUMBER'", retryable=False)
    platform.notify("evt-1", "case.accepted", accepted_body())
    platform.notify("evt-2", "case.accepted", accepted_body("JQ-2", phone="13700000001"))
    platform.run_once()
    assert {m.fact_id: m.state for m in platform.messages()} == {"evt-1": "failed", "evt-2": "sent"}


def test_a_long_message_cut_off_after_its_first_part_resumes_at_the_second(
        platform: SmsPlatform, sender: SimulatedSender, clock: SimulatedClock) -> None:
    long_matter = accepted_body(matter="建设工程规划许可" * 3)
    platform.notify("evt-1", "case.accepted", long_matter, due_day="2026-12-21")
    sender.fail_next("modem unplugged", after_units=1)
    platform.run_once()
    clock.advance(1_000)
    platform.run_once()
    [message] = platform.messages()
    assert message.state == "sent" and message.parts == 2
    assert [u.index for u in sender.sent] == [0, 1]  # the first part went once
    assert len({u.concat_ref for u in sender.sent}) == 1  # and both carry the same reference
    assert sender.texts_to(CITIZEN) == [message.text]


def test_nothing_goes_out_at_night_and_it_goes_out_at_eight(tmp_path: Path, sender: SimulatedSender,
                                                            sms_store: StoreUrl | None) -> None:
    clock = SimulatedClock(hall_time("2026-11-23 22:30"))
    platform = SmsPlatform(make_settings(tmp_path, quiet_hours=QuietHours()), clock=clock, sender=sender,
                           store=sms_store)
    platform.notify("evt-1", "case.completed", COMPLETED)
    platform.notifier.phone_book = phone_book
    platform.notify("evt-2", "case.completed", COMPLETED)
    platform.run_once()
    held = {m.fact_id: (m.state, m.hold, m.not_before) for m in platform.messages()}
    assert held["evt-2"] == ("queued", "quiet_hours", hall_time("2026-11-24 08:00"))
    assert held["evt-1"][0] == "unaddressed"  # no phone book then: visible, not silent

    clock.set_wall(hall_time("2026-11-24 07:59"))
    platform.run_once()
    assert sender.sent == []
    clock.set_wall(hall_time("2026-11-24 08:00"))
    platform.run_once()
    assert len(sender.texts_to(CITIZEN)) == 1
    platform.stop()


def test_a_number_gets_no_more_than_its_hourly_limit_and_the_rest_waits(
        tmp_path: Path, clock: SimulatedClock, sender: SimulatedSender, sms_store: StoreUrl | None) -> None:
    settings = make_settings(tmp_path, rate=RateLimits(per_number_per_hour=2))
    platform = SmsPlatform(settings, clock=clock, sender=sender, store=sms_store)
    for n in range(3):
        platform.notify(f"evt-{n}", "case.accepted", accepted_body(f"JQ-{n:03d}"))
        platform.run_once()
        clock.advance(60_000)
    assert len(sender.texts_to(CITIZEN)) == 2
    [waiting] = platform.messages(state="queued")
    assert (waiting.hold, waiting.not_before) == ("rate_limit", hall_time("2026-11-23 11:00"))
    clock.set_wall(hall_time("2026-11-23 11:00"))
    platform.run_once()
    assert len(sender.texts_to(CITIZEN)) == 3
    platform.stop()


def test_a_reply_of_tuiding_stops_every_message_to_that_number_now_and_later(
        platform: SmsPlatform, sender: SimulatedSender, clock: SimulatedClock) -> None:
    sender.unplug()
    platform.notify("evt-1", "case.accepted", accepted_body())
    platform.notify("evt-2", "case.accepted", accepted_body("JQ-OTHER", phone="13700000001"))
    platform.run_once()
    sender.plug_in()
    sender.reply("+86" + CITIZEN, "退订")
    sender.reply("13700000001", "请问什么时候办好？")
    clock.advance(1_000)
    platform.run_once(poll=True)
    platform.notify("evt-3", "case.completed", {**COMPLETED, "case_id": "JQ-2026-1123-0001"})
    platform.notify("evt-4", "complaint.answered", {"complaint": "TS-1", "phone": CITIZEN})
    platform.run_once()

    states = {m.fact_id: m.state for m in platform.messages()}
    assert states == {"evt-1": "opted_out", "evt-2": "sent", "evt-3": "unaddressed", "evt-4": "opted_out"}
    assert sender.texts_to(CITIZEN) == []
    assert [r["action"] for r in platform.outbox.incoming()] == ["kept", "opt_out"]


@pytest.mark.parametrize("reply", ["TD", "td", "ＴＤ", " 退订。", "退订"])
def test_the_usual_ways_of_writing_an_opt_out_are_understood(platform: SmsPlatform, reply: str) -> None:
    assert platform.receive_reply(CITIZEN, reply)


@pytest.mark.parametrize("reply", ["谢谢", "TD是什么意思", "不要退订"])
def test_a_reply_that_only_mentions_opting_out_is_not_one(platform: SmsPlatform, reply: str) -> None:
    assert not platform.receive_reply(CITIZEN, reply)


def test_delivery_reports_mark_messages_delivered_or_undelivered(platform: SmsPlatform,
                                                                 sender: SimulatedSender) -> None:
    platform.notify("evt-1", "case.accepted", accepted_body(matter="建设工程规划许可" * 3))
    platform.notify("evt-2", "case.accepted", accepted_body("JQ-2", phone="13700000001"))
    platform.run_once()
    first_parts = [u.reference for u in sender.sent if u.phone == CITIZEN]
    other = next(u.reference for u in sender.sent if u.phone == "13700000001")
    sender.report(first_parts[0])
    platform.run_once(poll=True)
    assert {m.fact_id: m.state for m in platform.messages()}["evt-1"] == "sent"  # one part of two
    sender.report(first_parts[1])
    sender.report(other, delivered=False)
    platform.run_once(poll=True)
    states = {m.fact_id: (m.state, m.last_error) for m in platform.messages()}
    assert states == {"evt-1": ("delivered", None), "evt-2": ("undelivered", "status report: failed")}


def assert_numbers_gone(platform: SmsPlatform, numbers: tuple[str, ...]) -> None:
    """No byte of the file holds them (SQLite: `secure_delete`, the WAL truncated); on PostgreSQL
    no row holds them and the erasure VACUUMed the tables its overwrites left dead versions in."""
    if platform.outbox.path is not None:
        stored = platform.outbox.path.read_bytes()
        assert not any(number.encode() in stored for number in numbers)
        return
    engine = open_engine(platform.outbox.url)
    try:
        with engine.connect() as sql:
            rows = sql.execute(text("SELECT phone FROM sms_messages UNION ALL "
                                    "SELECT phone FROM sms_incoming"))
            assert not {row[0] for row in rows} & set(numbers)
            vacuumed = sql.execute(text(
                "SELECT relname FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL "
                "AND relname IN ('sms_messages', 'sms_incoming')")).fetchall()
            assert {row[0] for row in vacuumed} == {"sms_messages", "sms_incoming"}
    finally:
        engine.dispose()


def test_erase_removes_the_number_but_keeps_the_opt_out(platform: SmsPlatform,
                                                        sender: SimulatedSender) -> None:
    platform.notify("evt-1", "case.accepted", accepted_body())
    platform.run_once()
    platform.receive_reply(CITIZEN, "退订")
    sender.unplug()
    platform.notify("evt-2", "case.accepted", accepted_body("JQ-OTHER", phone="13700000001"))
    platform.receive_reply("13700000001", "谢谢")

    assert platform.erase(CITIZEN) == {"messages": 1, "unsent": 0, "incoming": 1}
    assert platform.erase("13700000001") == {"messages": 1, "unsent": 1, "incoming": 1}
    assert_numbers_gone(platform, (CITIZEN, "13700000001"))
    assert {m.fact_id: (m.state, m.phone) for m in platform.messages()} == \
        {"evt-1": ("sent", "(erased)"), "evt-2": ("erased", "(erased)")}
    platform.notify("evt-3", "case.accepted", accepted_body("JQ-NEW"))  # the number comes back
    assert platform.messages(fact_id="evt-3")[0].state == "opted_out"


def test_numbers_are_masked_in_every_log_line_and_in_diagnostics(
        platform: SmsPlatform, sender: SimulatedSender, clock: SimulatedClock,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sender.unplug()
    platform.notify("evt-1", "case.accepted", accepted_body())
    platform.run_once()
    sender.plug_in()
    clock.advance(1_000)
    platform.run_once()
    platform.receive_reply(CITIZEN, "TD")
    platform.receive_reply(OFFICER, "收到")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "139****5678" in text and "136****5432" in text
    assert CITIZEN not in text and OFFICER not in text
    snapshot = json.dumps(platform.diagnostics(), ensure_ascii=False)
    assert CITIZEN not in snapshot and OFFICER not in snapshot
    assert CITIZEN not in repr(platform.messages()) and CITIZEN not in repr(sender)


def test_the_worker_thread_sends_soon_after_a_fact_and_stops_when_asked(tmp_path: Path,
                                                                        sms_store: StoreUrl | None) -> None:
    sender = SimulatedSender()
    platform = SmsPlatform(make_settings(tmp_path, poll_s=5.0), sender=sender, store=sms_store)
    platform.start()
    platform.notify("evt-1", "case.accepted", accepted_body())
    # Woken by notify, not by its 5 s tick.
    sent = wait_until(lambda: platform.messages()[0].state == "sent", timeout=4.0)
    platform.stop()
    assert sent and not platform.worker.running


def test_a_sender_that_cannot_start_keeps_everything_queued_and_says_why_loudly(
        tmp_path: Path, clock: SimulatedClock, caplog: pytest.LogCaptureFixture,
        sms_store: StoreUrl | None) -> None:
    settings = make_settings(tmp_path, backend="gammu", gammu=GammuSettings(gammurc=tmp_path / "missing"))
    platform = SmsPlatform(settings, clock=clock, store=sms_store)
    assert any(r.levelno == logging.ERROR and "cannot start" in r.getMessage() for r in caplog.records)
    platform.notify("evt-1", "case.accepted", accepted_body())
    platform.run_once()
    [message] = platform.messages()
    assert message.state == "queued" and "does not exist" in (message.last_error or "")
    assert platform.diagnostics()["sender"]["backend"] == "unavailable"
    platform.stop()
