"""Choosing the sender from configuration, and what happens when the chosen one cannot work.

A sender that cannot start is never replaced by the simulation: that would
mark citizens' messages as sent when nothing left the building. It is replaced
by `UnavailableSender`, which keeps every message queued with the reason as
its last error, and the reason is logged loudly and shown in diagnostics.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from central.sms.segments import split_ucs2
from central.sms.senders.base import DeliveryReport, IncomingSms, OutgoingSms, SendOutcome, SmsSender
from central.sms.settings import SmsSettings

log = logging.getLogger(__name__)


class UnavailableSender:
    """Stands in for a sender that could not be set up: sends nothing, says why every time."""

    name = "unavailable"

    def __init__(self, wanted: str, reason: str) -> None:
        self.wanted = wanted
        self.reason = reason

    def split(self, text: str) -> tuple[str, ...]:
        return split_ucs2(text)

    def send(self, sms: OutgoingSms) -> SendOutcome:
        return SendOutcome((), f"{self.wanted} sender unavailable: {self.reason}", retryable=True)

    def poll(self) -> list[IncomingSms | DeliveryReport]:
        return []

    def close(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "wanted": self.wanted, "reason": self.reason}


def build_sender(settings: SmsSettings) -> SmsSender:
    """The configured sender, or an `UnavailableSender` with the reason (logged as an error)."""
    if settings.backend == "simulated":
        from central.sms.senders.simulated import SimulatedSender

        # Chosen on purpose in [sms] (a trial, the demo): said once at start, not a warning.
        log.info("SMS backend is the simulation: no message leaves this machine")
        return SimulatedSender(auto_report=True)
    if settings.backend == "http":
        from central.sms.senders.http import HttpSender

        secret = settings.http.secret_file
        if secret is not None and not secret.is_file():
            return _unavailable("http", f"secret file {secret} does not exist")
        return HttpSender(settings.http)
    if importlib.util.find_spec("gammu") is None:
        return _unavailable("gammu", "python-gammu is not installed (pip install 'hallwatch[sms]', "
                                     "which needs Debian's libgammu-dev)")
    if not settings.gammu.gammurc.is_file():
        return _unavailable("gammu", f"gammurc {settings.gammu.gammurc} does not exist")
    from central.sms.senders.gammu import GammuSender

    return GammuSender(settings.gammu)


def _unavailable(wanted: str, reason: str) -> UnavailableSender:
    log.error("SMS sender %s cannot start: %s; messages stay queued until it is fixed", wanted, reason)
    return UnavailableSender(wanted, reason)
