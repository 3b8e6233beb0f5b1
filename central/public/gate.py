"""The rate limits of the public site's forms (booking, cancelling), counted in the attempt log.

A client address may send `[public] forms_per_client_per_hour` forms an hour; a
booking code may be tried for cancellation as often as a case number for its
progress (`progress_per_case_per_hour`), so the last four digits of its phone
cannot be tried through.
"""

from __future__ import annotations

import logging

from central.public.attempts import HOUR_MS, AttemptLog, mask_address
from central.public.settings import PublicSettings
from spine.clock import Clock

log = logging.getLogger(__name__)

FORMS = ("booking", "cancel")
BUSY = "提交过于频繁，请一小时后再试"


class FormGate:
    def __init__(self, attempts: AttemptLog, settings: PublicSettings, clock: Clock) -> None:
        self.attempts = attempts
        self.settings = settings
        self.clock = clock

    def admits(self, kind: str, client: str, subject: str = "") -> bool:
        since = self.clock.wall_ms() - HOUR_MS
        if self.attempts.by_client(FORMS, client, since) >= self.settings.forms_per_client_per_hour:
            return False
        return not (subject and self.attempts.by_subject(kind, subject, since)
                    >= self.settings.progress_per_case_per_hour)

    def note(self, kind: str, client: str, subject: str, outcome: str) -> None:
        self.attempts.record(kind, client, subject, outcome, self.clock.wall_ms())
        log.info("public %s form from %s: %s %s", kind, mask_address(client), subject, outcome)
