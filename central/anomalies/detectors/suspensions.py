"""Suspensions that look like a way around the clock: one case suspended again and again, or a
suspension placed just before (or after) its yellow light comes on."""

from __future__ import annotations

from pydantic import Field

from central.anomalies.detectors.base import Detector, Settings
from central.anomalies.facts import Fact, Hit
from central.anomalies.judging import Judging
from central.cases.stages import Stage
from central.cases.timebase import format_instant


class Repeats(Settings):
    count: int = Field(3, ge=2, description="suspensions of one case that make an anomaly")


class RepeatedSuspensions(Detector[Repeats]):
    name = "repeated_suspensions"
    kinds = frozenset({"case.suspended"})
    settings_model = Repeats

    def judge(self, judging: Judging, fact: Fact) -> list[Hit]:
        file = judging.file_after(fact)
        if file is None or len(file.holds) < self.settings.count:
            return []
        reasons = [hold.reason for hold in file.holds]
        return [Hit(key=str(fact.case_id), at=fact.at,
                    summary=f"case {fact.case_id} suspended {len(reasons)} times ({', '.join(reasons)})",
                    hall=file.hall, unit=file.unit, case_id=file.case_id, subject=file.officer_name,
                    refs=tuple(f"case:{hold.seq}" for hold in file.holds),
                    details={"suspensions": len(reasons), "reasons": reasons})]


class NearYellow(Settings):
    within_hours: int = Field(24, ge=1, le=24 * 30,
                              description="a suspension this close before the yellow light counts")


class SuspensionNearDeadline(Detector[NearYellow]):
    name = "suspension_near_deadline"
    kinds = frozenset({"case.suspended"})
    settings_model = NearYellow

    def judge(self, judging: Judging, fact: Fact) -> list[Hit]:
        before = judging.file_before(fact)
        if before is None:
            return []
        countdown = judging.countdown(before)
        yellow = countdown.step(Stage.YELLOW_LIGHT)
        at = fact.at // 1000
        if yellow is None or at < yellow - self.settings.within_hours * 3600:
            return []
        if at < yellow:
            hours = (yellow - at + 1799) // 3600
            how = f"{hours} h before its yellow light ({format_instant(yellow)})"
        else:
            how = f"after its light turned {countdown.light_at(at).value}"
        return [Hit(key=f"{fact.case_id}:{fact.seq}", at=fact.at,
                    summary=f"case {fact.case_id} suspended ({fact.body.get('reason')}) {how}",
                    hall=before.hall, unit=before.unit, case_id=before.case_id,
                    subject=before.officer_name, refs=(fact.ref,),
                    details={"yellow_light_at": format_instant(yellow), "reason": fact.body.get("reason")})]
