"""Quiet hours, rate limits and backoff as pure functions of a hand-set time."""

from __future__ import annotations

from datetime import time

from central.sms.planning import Recipient
from central.sms.policy import HOUR_MS, quiet_until, rate_hold, retry_delay_ms
from central.sms.settings import QuietHours, RateLimits, RetryPolicy
from tests.sms.conftest import hall_time

QUIET = QuietHours()


def test_nothing_goes_out_between_nine_at_night_and_eight_in_the_morning_hall_time() -> None:
    assert quiet_until(hall_time("2026-11-23 20:59"), QUIET, Recipient.CITIZEN) is None
    morning = hall_time("2026-11-24 08:00")
    assert quiet_until(hall_time("2026-11-23 21:00"), QUIET, Recipient.CITIZEN) == morning
    assert quiet_until(hall_time("2026-11-24 03:00"), QUIET, Recipient.CITIZEN) == morning
    assert quiet_until(hall_time("2026-11-24 08:00"), QUIET, Recipient.CITIZEN) is None


def test_quiet_hours_can_spare_officers_and_can_lie_within_one_day() -> None:
    citizens_only = QuietHours(applies_to=[Recipient.CITIZEN])
    assert quiet_until(hall_time("2026-11-23 23:00"), citizens_only, Recipient.OFFICER) is None
    lunch = QuietHours(start=time(12, 0), end=time(14, 0))
    assert quiet_until(hall_time("2026-11-23 12:30"), lunch, Recipient.UNIT) == hall_time("2026-11-23 14:00")
    assert quiet_until(hall_time("2026-11-23 23:00"), None, Recipient.CITIZEN) is None


def test_a_number_gets_at_most_its_hourly_share_and_waits_for_the_oldest_send_to_age_out() -> None:
    limits = RateLimits(per_number_per_hour=3, per_number_per_day=10, per_hour=100)
    now = hall_time("2026-11-23 10:00")
    sent = [now - 50 * 60_000, now - 20 * 60_000]
    assert rate_hold(now, sent, sent, limits) is None
    sent.append(now - 5 * 60_000)
    assert rate_hold(now, sent, sent, limits) == now - 50 * 60_000 + HOUR_MS


def test_the_daily_and_the_platform_wide_limits_hold_too() -> None:
    now = hall_time("2026-11-23 18:00")
    day = [now - h * HOUR_MS for h in range(2, 12)]
    assert rate_hold(now, day, [], RateLimits(per_number_per_day=10)) == day[-1] + 24 * HOUR_MS
    everyone = [now - m * 60_000 for m in range(1, 6)]
    assert rate_hold(now, [], everyone, RateLimits(per_hour=5)) == everyone[-1] + HOUR_MS


def test_retries_back_off_exponentially_up_to_a_ceiling() -> None:
    policy = RetryPolicy(first_delay_s=30, factor=2, max_delay_s=300)
    assert [retry_delay_ms(n, policy) for n in (1, 2, 3, 4, 5)] == [30_000, 60_000, 120_000, 240_000, 300_000]
