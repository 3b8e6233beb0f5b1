"""A discretionary decision outside its circumstance's range (自由裁量越界): it needed a written reason,
which is in the case log; the office reads it and decides whether the reason holds."""

from __future__ import annotations

from central.anomalies.detectors.base import Detector, Settings, person
from central.anomalies.facts import Fact, Hit
from central.anomalies.judging import Judging


def _number(value: object) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


class DecisionOutOfRange(Detector[Settings]):
    name = "decision_out_of_range"
    kinds = frozenset({"case.decided"})

    def judge(self, judging: Judging, fact: Fact) -> list[Hit]:
        body = fact.body
        if body.get("within", True):
            return []
        standard = body.get("standard") or {}
        decided = body.get("outcome") if body.get("outcome") is not None else (
            f"{_number(body.get('amount'))} {standard.get('unit', '')}".strip())
        return [Hit(key=f"{fact.case_id}:{fact.seq}", at=fact.at,
                    summary=(f"case {fact.case_id}: {body.get('matter')} / {body.get('circumstance')} "
                             f"decided "
                             f"{decided}, outside the standard ({standard.get('allowed')}); the written "
                             "reason is in the case's history"),
                    hall=fact.hall, unit=fact.unit, case_id=fact.case_id, subject=person(fact.actor),
                    refs=(fact.ref,),
                    details={"matter": body.get("matter"), "circumstance": body.get("circumstance"),
                             "amount": body.get("amount"), "outcome": body.get("outcome"),
                             "allowed": standard.get("allowed")})]
