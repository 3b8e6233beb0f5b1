"""Erasing personal data everywhere central keeps it: on a citizen's request, and by the retention rule.

Erasing a subject deletes its key in every place (`places`): every sealed copy
of its data (log bodies, projections, the event log) becomes `(erased)` at
once, and no chain changes, so `verify` passes. The SMS store keeps numbers in
clear (it must send to them): a request erases the number there too, and the
rule forgets the numbers of messages settled before its cut-off. Each place
logs what it erased (the subject, when, who, why; never the data) in its
append-only erasure log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from central.erasure.places import PersonalPlace
from central.personal.retention import PrivacySettings, Retention

log = logging.getLogger(__name__)

REQUEST = "a citizen's request"


class SmsNumbers(Protocol):
    """What the SMS store offers (`central.sms.SmsPlatform`)."""

    def erase(self, phone: str) -> dict[str, int]: ...

    def erase_before(self, cutoff_ms: int) -> dict[str, int]: ...


@dataclass
class ErasureReport:
    erased: dict[str, list[str]] = field(default_factory=dict)
    """Per place, the subjects whose keys were deleted."""
    sms: dict[str, int] = field(default_factory=dict)

    @property
    def subjects(self) -> list[str]:
        return sorted({subject for found in self.erased.values() for subject in found})

    def as_dict(self) -> dict[str, object]:
        return {"subjects": self.subjects, "places": self.erased, "sms": self.sms}


class Eraser:
    def __init__(self, places: Sequence[PersonalPlace], settings: PrivacySettings, *,
                 clock: Callable[[], int], sms: SmsNumbers | None = None) -> None:
        self.places = list(places)
        self.settings = settings
        self.clock = clock
        """Wall clock, ms."""
        self.sms = sms

    def erase_phone(self, phone: str, *, actor: str) -> ErasureReport:
        """A citizen asks: every record whose sealed data holds this number loses its personal data
        (the record itself, its dates and its light stay), and the SMS store forgets the number."""
        subjects: set[str] = set()
        for place in self.places:
            subjects |= place.holding(phone)
        report = self.erase_subjects(sorted(subjects), actor=actor, reason=REQUEST)
        if self.sms is not None:
            report.sms = self.sms.erase(phone)
        log.info("erased on request by %s: %d records, SMS store %s", actor, len(report.subjects),
                 report.sms or "not attached")
        return report

    def erase_subjects(self, subjects: Iterable[str], *, actor: str, reason: str) -> ErasureReport:
        """Erase named subjects (`case:<id>`, `complaint:<id>`, ...) in every place that keeps them."""
        subjects = list(subjects)
        now = self.clock()
        report = ErasureReport()
        for place in self.places:
            report.erased[place.name] = place.erase(subjects, actor=actor, reason=reason, now_ms=now)
        return report

    def erase_due(self, *, actor: str = "retention") -> ErasureReport:
        """Apply the retention rule now; logs what it erased."""
        rule = Retention(self.settings, self.clock())
        report = ErasureReport()
        due: dict[str, str] = {}
        for place in self.places:
            due.update(place.due(rule))
        by_reason: dict[str, list[str]] = {}
        for subject, reason in sorted(due.items()):
            by_reason.setdefault(reason, []).append(subject)
        for reason, subjects in by_reason.items():
            for name, erased in self.erase_subjects(subjects, actor=actor, reason=reason).erased.items():
                report.erased.setdefault(name, []).extend(erased)
        if self.sms is not None:
            report.sms = self.sms.erase_before(rule.closed_before_ms)
        if report.subjects or any(report.sms.values()):
            log.info("retention erased the personal data of %d records (%s); SMS store %s",
                     len(report.subjects), ", ".join(sorted(by_reason)), report.sms)
        return report
