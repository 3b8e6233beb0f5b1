"""Corrections that move a deadline once the light has come on.

Wrong dates are the trial's most common cause of false alarms, and correcting
them early is what the office wants; a correction that moves the due day
after the case turned yellow (or worse) also makes its light go away, and
deserves a second look.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from central.anomalies.detectors.base import Detector, Settings
from central.anomalies.facts import Fact, Hit
from central.anomalies.judging import Judging
from central.cases.stages import LADDER, Stage
from central.cases.timebase import format_day

StageName = Literal["blue", "yellow_light", "red_light", "yellow_card", "red_card", "supervision_letter"]


def _rank(stage: Stage | str) -> int:
    """-1 for blue, then the ladder's order; other states (uncertain) count as blue."""
    names = [s.value for s in LADDER]
    return names.index(str(stage)) if str(stage) in names else -1


class Moves(Settings):
    later_only: bool = Field(True, description="only corrections that give the case more time")
    from_stage: StageName = Field(
        "yellow_light", description="only once the case shows this light or a worse one ('blue': always)")


class DeadlineMoved(Detector[Moves]):
    name = "deadline_moved"
    kinds = frozenset({"case.corrected"})
    settings_model = Moves

    def judge(self, judging: Judging, fact: Fact) -> list[Hit]:
        before, after = judging.file_before(fact), judging.file_after(fact)
        if before is None or after is None:
            return []
        was, now = judging.countdown(before), judging.countdown(after)
        if was.due_day is None or now.due_day is None or was.due_day == now.due_day:
            return []
        if self.settings.later_only and now.due_day < was.due_day:
            return []
        light = was.light_at(fact.at // 1000)
        if _rank(light) < _rank(self.settings.from_stage):
            return []
        return [Hit(key=f"{fact.case_id}:{fact.seq}", at=fact.at,
                    summary=(f"case {fact.case_id}: a correction of its {fact.body.get('corrected_type')} "
                             f"moved the due day from {format_day(was.due_day)} to "
                             f"{format_day(now.due_day)} while it showed {light.value}"),
                    hall=after.hall, unit=after.unit, case_id=after.case_id, subject=fact.actor,
                    refs=(f"case:{fact.body.get('corrects')}", fact.ref),
                    details={"due_before": format_day(was.due_day), "due_after": format_day(now.due_day),
                             "light": light.value})]
