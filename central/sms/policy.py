"""When a message may go out: quiet hours, rate limits and retry backoff, as pure functions of time.

Every function takes `now` in ms since the epoch and answers with an instant,
so tests drive them on a hand-set clock and the outbox stores the answer as
the message's `not_before`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from central.sms.planning import Recipient
from central.sms.settings import QuietHours, RateLimits, RetryPolicy

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def _is_quiet(clock: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end  # the window spans midnight


def quiet_until(now_ms: int, quiet: QuietHours | None, recipient: Recipient) -> int | None:
    """The instant quiet hours end if `now` is inside them for this recipient, else None."""
    if quiet is None or recipient not in quiet.applies_to:
        return None
    zone = ZoneInfo(quiet.timezone)
    local = datetime.fromtimestamp(now_ms / 1000, tz=UTC).astimezone(zone)
    if not _is_quiet(local.time(), quiet.start, quiet.end):
        return None
    end = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if end <= local:
        end = (end + timedelta(days=1)).replace(hour=quiet.end.hour, minute=quiet.end.minute)
    return int(end.timestamp() * 1000)


def _window_hold(now_ms: int, sent_at: Sequence[int], window_ms: int, limit: int) -> int | None:
    recent = sorted(t for t in sent_at if now_ms - window_ms < t <= now_ms)
    if len(recent) < limit:
        return None
    # The window frees a place when the oldest send still counted leaves it.
    return recent[len(recent) - limit] + window_ms


def rate_hold(now_ms: int, to_number: Sequence[int], to_all: Sequence[int], limits: RateLimits) -> int | None:
    """The instant sending becomes allowed again, or None if it is allowed now.

    `to_number` are the send times of messages to this number in the last day,
    `to_all` those of all messages in the last hour.
    """
    holds = [
        _window_hold(now_ms, to_number, HOUR_MS, limits.per_number_per_hour),
        _window_hold(now_ms, to_number, DAY_MS, limits.per_number_per_day),
        _window_hold(now_ms, to_all, HOUR_MS, limits.per_hour),
    ]
    due = [h for h in holds if h is not None]
    return max(due) if due else None


def retry_delay_ms(attempts: int, policy: RetryPolicy) -> int:
    """How long to wait after the `attempts`-th failed try (1-based): exponential, capped."""
    delay = policy.first_delay_s * policy.factor ** max(attempts - 1, 0)
    return int(min(delay, policy.max_delay_s) * 1000)
