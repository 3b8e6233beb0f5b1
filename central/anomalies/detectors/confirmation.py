"""Completion confirmed by the officer who completed the case: nobody checked the work (审办分离)."""

from __future__ import annotations

from pydantic import Field

from central.anomalies.detectors.base import Detector, Settings, person
from central.anomalies.facts import Fact, Hit
from central.anomalies.judging import Judging


class Exempt(Settings):
    system_actors: tuple[str, ...] = Field(
        (), description="authors that are systems, not people (an approval system that confirms on "
        "a reviewer's signal): never counted as the same person")


class SelfConfirmed(Detector[Exempt]):
    name = "self_confirmed"
    kinds = frozenset({"case.completion_confirmed"})
    settings_model = Exempt

    def judge(self, judging: Judging, fact: Fact) -> list[Hit]:
        before = judging.file_before(fact)
        if before is None or before.completed is None:
            return []
        completed = judging.record(fact, before.completed.seq)
        confirmer = person(fact.actor)
        if completed is None or not confirmer or confirmer in self.settings.system_actors:
            return []
        if person(completed.actor) != confirmer:
            return []
        return [Hit(key=str(fact.case_id), at=fact.at,
                    summary=f"case {fact.case_id}: completion confirmed by {confirmer}, who completed it",
                    hall=before.hall, unit=before.unit, case_id=before.case_id, subject=confirmer,
                    refs=(f"case:{completed.seq}", fact.ref))]
