"""A sender shipped in the package, for the demo and tests: records what it sends, fails on request.

Like gpiozero's mock pins, it has helpers to drive it (`unplug`, `fail_next`,
`reply`, `report`) and to inspect it (`texts_to`, `sent`).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

from central.sms.segments import split_ucs2
from central.sms.senders.base import DeliveryReport, IncomingSms, OutgoingSms, SendOutcome
from contract.privacy import mask_phone


@dataclass
class SentUnit:
    message_id: int
    phone: str = field(repr=False)
    unit: str
    index: int
    count: int
    concat_ref: int
    reference: str


class SimulatedSender:
    """An always-ready modem in memory."""

    name = "simulated"

    def __init__(self, *, auto_report: bool = False) -> None:
        self._lock = threading.Lock()
        self._refs = itertools.count(1)
        self._failures: list[tuple[str, bool, int]] = []
        self._inbox: list[IncomingSms | DeliveryReport] = []
        self.auto_report = auto_report
        self.plugged = True
        self.sent: list[SentUnit] = []

    # --- the protocol --------------------------------------------------------

    def split(self, text: str) -> tuple[str, ...]:
        return split_ucs2(text)

    def send(self, sms: OutgoingSms) -> SendOutcome:
        with self._lock:
            if not self.plugged:
                return SendOutcome(error="modem unplugged", retryable=True)
            failure = self._failures.pop(0) if self._failures else None
            references: list[str | None] = []
            for index in range(sms.first_unit, len(sms.units)):
                if failure is not None and len(references) >= failure[2]:
                    return SendOutcome(tuple(references), failure[0], failure[1])
                reference = str(next(self._refs) % 256)
                self.sent.append(SentUnit(sms.message_id, sms.phone, sms.units[index], index,
                                          len(sms.units), sms.concat_ref, reference))
                references.append(reference)
                if self.auto_report:
                    self._inbox.append(DeliveryReport(reference, sms.phone, True, True, "delivered"))
            return SendOutcome(tuple(references))

    def poll(self) -> list[IncomingSms | DeliveryReport]:
        with self._lock:
            items, self._inbox = self._inbox, []
            return items

    def close(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"backend": self.name, "plugged": self.plugged, "units_sent": len(self.sent)}

    # --- helpers for tests and the demo ------------------------------------

    def unplug(self) -> None:
        with self._lock:
            self.plugged = False

    def plug_in(self) -> None:
        with self._lock:
            self.plugged = True

    def fail_next(self, error: str = "+CMS ERROR: 500", *, retryable: bool = True, after_units: int = 0,
                  times: int = 1) -> None:
        """The next `times` sends stop with `error` after `after_units` units went out."""
        with self._lock:
            self._failures.extend([(error, retryable, after_units)] * times)

    def reply(self, phone: str, text: str) -> None:
        """A citizen's phone sends us `text`."""
        with self._lock:
            self._inbox.append(IncomingSms(phone, text))

    def report(self, reference: str, *, delivered: bool = True, final: bool = True) -> None:
        with self._lock:
            unit = next(u for u in self.sent if u.reference == reference)
            self._inbox.append(DeliveryReport(reference, unit.phone, delivered, final,
                                              "delivered" if delivered else "failed"))

    def texts_to(self, phone: str) -> list[str]:
        """Whole texts as the phone would show them (parts joined per message)."""
        with self._lock:
            by_message: dict[int, dict[int, str]] = {}
            for unit in self.sent:
                if unit.phone == phone:
                    by_message.setdefault(unit.message_id, {})[unit.index] = unit.unit
            return ["".join(parts[i] for i in sorted(parts)) for parts in by_message.values()]

    def __repr__(self) -> str:
        phones = sorted({mask_phone(u.phone) for u in self.sent})
        return f"SimulatedSender(units={len(self.sent)}, to={phones})"
