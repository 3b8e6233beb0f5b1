"""The rating rules of one terminal, as a pure state machine: keys and time in, events and lights out.

    IDLE --arm--> ARMED --grade--> THANKS --thanks_s--> IDLE
                    |  \\--bad grade--> REASON --reason / reason_window_s--> THANKS
                    \\--arm_window_s--> IDLE (not rated)

One arming has exactly one outcome (`rating.given` or `rating.not_rated`); the
first grade press counts. Every other press -- before arming, after the grade,
mashing right after it, held, repeated -- is recorded as `rating.key_flagged`
for audit and changes nothing. No hardware, no clock of its own: the caller
passes `Instant`s and carries out the returned `Effect`s.

The officer's *please rate* arms without a visit; the gateway later gives that
outcome to the visit served just before it, or to the first one served soon
after (docs/rating.md, "Attribution"). So the first gateway arm for a visit
that comes within `arm_max_age_s` of such an arming is the same visit asking
again, however late it comes (a gateway back from an outage sends it after
the citizen rated): it joins that arming and never arms the terminal a second
time, where the next citizen's press would be refused for a visit that already
has an outcome.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from contract.events.rating import ArmTrigger, FlagReason, Grade
from edge.rating_terminal.config import RatingRules
from edge.runtime.hardware.keys import KeyEvent, KeyEventKind


@dataclass(frozen=True)
class Instant:
    wall_ms: int
    """For the record (the device's wall clock, maybe wrong)."""
    mono_ms: int
    """For deadlines."""


class Phase(StrEnum):
    IDLE = "idle"
    ARMED = "armed"  # please rate
    REASON = "reason"  # please choose a reason
    THANKS = "thanks"


@dataclass(frozen=True)
class Record:
    """Record this event durably."""

    type: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Show:
    """Change the lights: the phase to show, and whether the keypad is faulted."""

    phase: Phase
    fault: bool = False


Effect = Record | Show


@dataclass
class Arming:
    id: str
    visit: dict[str, str] | None
    trigger: ArmTrigger
    armed_at: int
    armed_mono: int
    deadline: int
    graded_at: int | None = None
    grade: Grade | None = None


FLAG_BURST = 10
"""Keypad-reported flags of one kind kept per minute; a noisy line must not flood the outbox with
essential events. The rest are counted and the count goes with the next one kept."""
FLAG_PERIOD_MS = 60_000

_KEYPAD_FLAGS = {
    KeyEventKind.HELD: FlagReason.HELD,
    KeyEventKind.REPEAT: FlagReason.REPEAT,
    KeyEventKind.UNKNOWN_KEY: FlagReason.UNKNOWN_KEY,
    KeyEventKind.MISSED: FlagReason.MISSED,
    KeyEventKind.BAD_FRAME: FlagReason.BAD_FRAME,
}


@dataclass
class RatingSession:
    rules: RatingRules
    new_id: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)
    phase: Phase = Phase.IDLE
    arming: Arming | None = None
    faulted: bool = False
    _phase_deadline: int | None = None
    _recent: deque[str] = field(default_factory=lambda: deque(maxlen=32))
    """Arming ids and visits already handled here: a repeated arm is not a second rating."""
    _unnamed: Arming | None = None
    """The officer's last arming without a visit that no gateway arm has joined yet."""
    joined: int = 0
    """Gateway arms that joined the officer's arming instead of arming again."""
    _flag_budget: dict[FlagReason, tuple[int, int, int]] = field(default_factory=dict)
    """Per keypad-reported flag: (period start, kept in the period, suppressed since the last kept)."""

    def __post_init__(self) -> None:
        self._reasons = {reason.key: reason for reason in self.rules.reasons}

    # --- inputs ------------------------------------------------------------

    def arm(self, now: Instant, trigger: ArmTrigger, visit: dict[str, str] | None = None,
            arming_id: str | None = None) -> list[Effect]:
        """Ask for a rating of `visit` (None: the officer asked, the visit is the gateway's to find)."""
        visit_key = f"{visit['day']}/{visit['ticket']}" if visit else None
        if (arming_id and arming_id in self._recent) or (visit_key and visit_key in self._recent):
            return []  # this visit already had its chance here (a repeated command)
        current = self.arming
        if current is not None and self.phase in (Phase.ARMED, Phase.REASON) and (
            trigger is ArmTrigger.OFFICER_REQUEST or (visit is not None and current.visit == visit)
        ):
            return []  # already asking
        if trigger is ArmTrigger.VISIT_COMPLETED and visit is not None and self._officer_asked_for(now):
            self._join(arming_id, visit_key, visit)
            return []
        effects = self._end(now, "superseded")
        arming = Arming(
            id=arming_id or self.new_id(), visit=visit, trigger=trigger, armed_at=now.wall_ms,
            armed_mono=now.mono_ms, deadline=now.mono_ms + int(self.rules.arm_window_s * 1000),
        )
        self._remember(arming.id, visit_key)
        self._unnamed = arming if visit is None else None
        self.arming = arming
        return [*effects, *self._enter(Phase.ARMED, arming.deadline)]

    def _officer_asked_for(self, now: Instant) -> bool:
        """The officer's visit-less arming is recent enough to be this visit's (see the docstring)."""
        unnamed = self._unnamed
        return unnamed is not None and now.mono_ms - unnamed.armed_mono <= self.rules.arm_max_age_s * 1000

    def _join(self, arming_id: str | None, visit_key: str | None, visit: dict[str, str]) -> None:
        """One visit, one arming: the gateway's arm joins the officer's. Before a grade the arming
        learns its visit; after one, the gateway matches the outcome to the visit by time."""
        unnamed, self._unnamed = self._unnamed, None
        self._remember(arming_id, visit_key)
        self.joined += 1
        if unnamed is not None and unnamed is self.arming and self.phase is Phase.ARMED:
            unnamed.visit = visit

    def _remember(self, arming_id: str | None, visit_key: str | None) -> None:
        for item in (arming_id, visit_key):
            if item:
                self._recent.append(item)

    def press(self, now: Instant, key: str, held_ms: int | None = None) -> list[Effect]:
        effects = self.tick(now)
        if key == self.rules.please_rate_key:
            return [*effects, *self.arm(now, ArmTrigger.OFFICER_REQUEST)]
        grade = self.rules.grades.get(key)
        if grade is None and key not in self._reasons:
            return [*effects, self._flag(now, FlagReason.UNKNOWN_KEY, key)]
        arming = self.arming
        if self.phase is Phase.ARMED and arming is not None:
            if grade is None:
                return [*effects, self._flag(now, FlagReason.UNKNOWN_KEY, key, detail="not a grade key")]
            return [*effects, *self._grade(now, arming, key, grade)]
        if arming is not None and arming.graded_at is not None and self.phase in (Phase.REASON, Phase.THANKS):
            if now.mono_ms - arming.graded_at < self.rules.mash_ms:
                return [*effects, self._flag(now, FlagReason.MASHING, key)]
            if self.phase is Phase.REASON and key in self._reasons:
                return [*effects, *self._reason(now, arming, key)]
            return [*effects, self._flag(now, FlagReason.EXTRA, key)]
        return [*effects, self._flag(now, FlagReason.UNARMED, key)]

    def keypad_event(self, now: Instant, event: KeyEvent) -> list[Effect]:
        """What the keypad saw besides presses: flags for audit, and fault changes."""
        if event.kind in (KeyEventKind.FAULT, KeyEventKind.RECOVERED):
            self.faulted = event.kind is KeyEventKind.FAULT
            state = "fault" if self.faulted else "ok"
            return [Record("rating.terminal_fault", {"state": state, "detail": event.detail[:200],
                                                     "at": now.wall_ms}),
                    Show(self.phase, self.faulted)]
        flag = _KEYPAD_FLAGS.get(event.kind)
        if flag is None:
            return []  # bounces and releases are below the level of a press
        suppressed = self._spend(flag, now)
        if suppressed is None:
            return []
        detail = f"{event.detail} (+{suppressed} more not recorded)" if suppressed else event.detail
        return [self._flag(now, flag, event.key, held_ms=event.held_ms, detail=detail)]

    def _spend(self, flag: FlagReason, now: Instant) -> int | None:
        """None when this flag is over its budget (counted), else how many were suppressed before it."""
        start, kept, suppressed = self._flag_budget.get(flag, (now.mono_ms, 0, 0))
        if now.mono_ms - start >= FLAG_PERIOD_MS:
            start, kept = now.mono_ms, 0
        if kept >= FLAG_BURST:
            self._flag_budget[flag] = (start, kept, suppressed + 1)
            return None
        self._flag_budget[flag] = (start, kept + 1, 0)
        return suppressed

    def tick(self, now: Instant) -> list[Effect]:
        """Let time pass: an arming runs out, a reason step ends, 'thank you' goes off."""
        if self._phase_deadline is None or now.mono_ms < self._phase_deadline:
            return []
        arming = self.arming
        if self.phase is Phase.ARMED and arming is not None:
            return self._end(now, "fault" if self.faulted else "timeout")
        if self.phase is Phase.REASON and arming is not None:
            return [self._reason_record(now, arming, None), *self._enter(Phase.IDLE, None)]
        return self._enter(Phase.IDLE, None)

    def stop(self, now: Instant) -> list[Effect]:
        """The agent is shutting down: an open arming ends as not rated (never silently lost)."""
        return self._end(now, "stopped")

    def next_deadline(self) -> int | None:
        return self._phase_deadline

    # --- steps -------------------------------------------------------------

    def _grade(self, now: Instant, arming: Arming, key: str, grade: Grade) -> list[Effect]:
        arming.graded_at, arming.grade = now.mono_ms, grade
        given = Record("rating.given", {
            **self._outcome(arming), "grade": grade.value, "key": key, "rated_at": now.wall_ms,
            "reason_pending": grade.bad,
        })
        if grade.bad:
            return [given, *self._enter(Phase.REASON, now.mono_ms + int(self.rules.reason_window_s * 1000))]
        return [given, *self._thanks(now)]

    def _reason(self, now: Instant, arming: Arming, key: str) -> list[Effect]:
        return [self._reason_record(now, arming, key), *self._thanks(now)]

    def _reason_record(self, now: Instant, arming: Arming, key: str | None) -> Record:
        option = self._reasons.get(key) if key is not None else None
        return Record("rating.reason", {
            "rating": arming.id, "reason": option.code if option else None,
            "label": option.label if option else None, "at": now.wall_ms,
        })

    def _thanks(self, now: Instant) -> list[Effect]:
        return self._enter(Phase.THANKS, now.mono_ms + int(self.rules.thanks_s * 1000))

    def _end(self, now: Instant, why: str) -> list[Effect]:
        """Close the current arming: not rated if no grade came, no reason if none came."""
        arming = self.arming
        if arming is None:
            return []
        if self.phase is Phase.ARMED:
            return [Record("rating.not_rated", {**self._outcome(arming), "ended_at": now.wall_ms,
                                                "why": why}),
                    *self._enter(Phase.IDLE, None)]
        if self.phase is Phase.REASON:
            return [self._reason_record(now, arming, None), *self._enter(Phase.IDLE, None)]
        return []

    def _enter(self, phase: Phase, deadline: int | None) -> list[Effect]:
        self.phase = phase
        self._phase_deadline = deadline
        if phase is Phase.IDLE:
            self.arming = None
        return [Show(phase, self.faulted)]

    def _outcome(self, arming: Arming) -> dict[str, Any]:
        return {"rating": arming.id, "visit": arming.visit, "trigger": arming.trigger.value,
                "armed_at": arming.armed_at}

    def _flag(self, now: Instant, flag: FlagReason, key: str | None, *, held_ms: int | None = None,
              detail: str = "") -> Record:
        arming = self.arming
        return Record("rating.key_flagged", {
            "flag": flag.value, "key": key, "rating": arming.id if arming is not None else None,
            "held_ms": held_ms, "detail": detail[:200], "at": now.wall_ms,
        })
