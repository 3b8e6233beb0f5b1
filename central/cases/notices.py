"""What the engine must issue for a case at an instant: escalations and reminders, each once.

Pure: given a countdown, what was already issued and the current instant,
list what is due now. The store appends each as a log event in the same
transaction that records it as issued, which is what makes "exactly once"
survive a restart.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from central.cases.countdown import Countdown
from central.cases.stages import LADDER, Stage
from central.cases.timebase import Instant

YELLOW_LIGHT_REMINDER = "yellow_light"
UNCONFIRMED_REMINDER = "unconfirmed_completion"


@dataclass(frozen=True)
class DueNotice:
    """One escalation or reminder that is due: its kind and the instant the rules put it at."""

    kind: str
    due_at: Instant
    escalation: bool


def due_notices(
    countdown: Countdown,
    issued: Collection[str],
    now: Instant,
    escalations: Collection[Stage],
) -> list[DueNotice]:
    """Notices due at `now` that were not issued yet, in the order they fell due."""
    clock = countdown.clock
    stop = clock.confirmed_at
    notices: list[DueNotice] = []
    for stage, at in zip(LADDER, countdown.starts, strict=True):
        if at is None or at > now or stage not in escalations or stage.value in issued:
            continue
        if stop is None or at < stop:
            notices.append(DueNotice(stage.value, at, True))
    yellow = countdown.step(Stage.YELLOW_LIGHT)
    if stop is None and yellow is not None and yellow <= now:
        if clock.completed_at is None:
            if YELLOW_LIGHT_REMINDER not in issued:
                notices.append(DueNotice(YELLOW_LIGHT_REMINDER, yellow, False))
        elif UNCONFIRMED_REMINDER not in issued:
            # Done but not confirmed on or after its yellow-light day: flag it now,
            # before the red light would come on for want of a click.
            due = max(clock.completed_at, yellow)
            if due <= now:
                notices.append(DueNotice(UNCONFIRMED_REMINDER, due, False))
    notices.sort(key=lambda notice: notice.due_at)
    return notices
