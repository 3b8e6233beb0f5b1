"""A device refused for stating facts it may not (the gateway's `security.refused`): one anomaly per
device and day, however many refusals (each refusal is an alarm of its own already)."""

from __future__ import annotations

from central.anomalies.detectors.base import Detector, Settings
from central.anomalies.facts import Fact, Hit
from central.anomalies.judging import Judging
from central.cases.timebase import day_of, format_day


class DeviceRefused(Detector[Settings]):
    name = "device_refused"
    kinds = frozenset({"security.refused"})

    def judge(self, judging: Judging, fact: Fact) -> list[Hit]:
        device = fact.body.get("device") or "?"
        day = format_day(day_of(fact.at // 1000))
        what = fact.body.get("type") or "a whole batch"
        quarantined = " (quarantined)" if fact.body.get("quarantined") else ""
        return [Hit(key=f"{fact.hall}/{device}/{day}", at=fact.at,
                    summary=(f"device {device} ({fact.body.get('kind') or 'unregistered'}) of {fact.hall} "
                             f"stated {what}, which it may not{quarantined}: {fact.body.get('reason')}"),
                    hall=fact.hall, subject=str(device), refs=(fact.ref,),
                    details={"type": fact.body.get("type"), "refusals": fact.body.get("refusals"),
                             "quarantined": bool(fact.body.get("quarantined"))})]
