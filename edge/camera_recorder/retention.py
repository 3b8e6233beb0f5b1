"""Retention rules: which footage goes, and whether the disk can hold the period. No I/O here.

Candidates arrive as lazy iterables, oldest first, of segments that no hold
covers; the rules stop reading at the first segment they keep, so a pass costs
what it deletes, not what is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

DAY_MS = 86_400_000


class PruneCause(StrEnum):
    AGE = "pruned_age"  # older than the camera's retention period
    BUDGET = "pruned_budget"  # the disk budget needed the room


@dataclass(frozen=True)
class SegmentRef:
    """What retention needs to know of one indexed segment."""

    id: int
    camera: str
    start_ms: int
    end_ms: int
    bytes: int


@dataclass(frozen=True)
class Victim:
    segment: SegmentRef
    cause: PruneCause


@dataclass
class PrunePlan:
    victims: list[Victim] = field(default_factory=list)
    freed_bytes: int = 0
    shortfall_bytes: int = 0
    """Bytes still over the allowance after every unheld segment was taken: holds block it."""
    more: bool = False
    """The pass stopped at its batch limit; run another at once."""


def age_cutoff_ms(now_ms: int, retention_days: float) -> int:
    """Segments that ended before this are older than the retention period."""
    return now_ms - int(retention_days * DAY_MS)


def allowed_bytes(
    budget_bytes: int, used_bytes: int, fs_free_bytes: int, min_free_bytes: int
) -> int:
    """How many bytes of footage may be kept now.

    The configured budget, unless the disk itself has less room: other files
    (logs, exports, the index) can grow into the space footage was counting on.
    A budget of 0 means "the disk less `min_free_bytes`".
    """
    disk_room = used_bytes + max(0, fs_free_bytes - min_free_bytes)
    if budget_bytes <= 0:
        return disk_room
    return min(budget_bytes, disk_room)


def plan_prune(
    *,
    now_ms: int,
    retention_days: Mapping[str, float],
    unheld_by_camera: Mapping[str, Iterable[SegmentRef]],
    unheld_oldest: Iterable[SegmentRef],
    used_bytes: int,
    allowed: int,
    limit: int,
) -> PrunePlan:
    """Choose the segments to delete in one pass.

    First, per camera, unheld segments past its retention period; then, if the
    footage still exceeds `allowed`, the oldest unheld segments of any camera.
    Held segments are never candidates, so when holds alone exceed the
    allowance the plan reports a shortfall instead of touching them.
    """
    plan = PrunePlan()
    chosen: set[int] = set()
    for camera, candidates in unheld_by_camera.items():
        cutoff = age_cutoff_ms(now_ms, retention_days[camera])
        for segment in candidates:
            if segment.end_ms > cutoff:
                break
            if len(plan.victims) >= limit:
                plan.more = True
                return plan
            plan.victims.append(Victim(segment, PruneCause.AGE))
            chosen.add(segment.id)
            plan.freed_bytes += segment.bytes
    excess = used_bytes - plan.freed_bytes - allowed
    if excess <= 0:
        return plan
    for segment in unheld_oldest:
        if excess <= 0:
            break
        if segment.id in chosen:
            continue
        if len(plan.victims) >= limit:
            plan.more = True
            return plan
        plan.victims.append(Victim(segment, PruneCause.BUDGET))
        plan.freed_bytes += segment.bytes
        excess -= segment.bytes
    plan.shortfall_bytes = max(0, excess)
    return plan


@dataclass(frozen=True)
class CapacityForecast:
    """Whether the allowance can hold every camera's retention period at today's bitrates."""

    needed_bytes: int
    allowed_bytes: int
    held_bytes: int
    days_possible: float | None
    """Days of footage the allowance holds for every camera at the measured rates."""

    @property
    def short(self) -> bool:
        return self.needed_bytes > self.allowed_bytes

    @property
    def holds_over_budget(self) -> bool:
        return self.held_bytes > self.allowed_bytes


def forecast_capacity(
    *,
    bytes_per_day: Mapping[str, float],
    retention_days: Mapping[str, float],
    allowed: int,
    held_bytes: int,
) -> CapacityForecast:
    """Compare what the period needs (held footage included) with the allowance.

    Held footage stays whatever happens, so only the rest of the allowance is
    shared by the cameras; `days_possible` is the one period every camera
    could keep if the allowance ran short.
    """
    needed = held_bytes + sum(
        rate * retention_days[camera] for camera, rate in bytes_per_day.items()
    )
    daily = sum(bytes_per_day.values())
    free_for_rolling = max(0, allowed - held_bytes)
    days = free_for_rolling / daily if daily > 0 else None
    return CapacityForecast(int(needed), allowed, held_bytes, days)
