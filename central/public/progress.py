"""The progress query: a case number and the last four digits of its contact phone give the case's
stage in plain words, its due day and its unit; nothing else, and nobody's phone.

An unknown case and a wrong tail get the same answer, so the page says nothing
about which case numbers exist. Every attempt is logged (`attempts`), and a
client address or a case number that has been tried too often in the last
hour is refused before anything is read.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from central.booking.slots import HALL_TIME
from central.cases.store import CaseStore, UnknownCase
from central.public.attempts import HOUR_MS, AttemptLog, mask_address
from central.public.settings import PublicSettings
from central.public.words import Progress, progress_of
from contract.events.cases import CASE_ID_PATTERN
from contract.privacy import ERASED, normalize_phone
from spine.clock import Clock

log = logging.getLogger(__name__)

Alone = Callable[[], AbstractContextManager[CaseStore]]
KIND = "progress"
_CASE_ID = re.compile(CASE_ID_PATTERN)


class ProgressRefused(Exception):
    """Why no progress is shown, in the words the citizen reads; `busy` for the rate limits."""

    def __init__(self, message: str, *, busy: bool = False) -> None:
        super().__init__(message)
        self.busy = busy


NOT_FOUND = "未查询到该办件：请核对受理编号和手机号后四位"
BUSY = "查询过于频繁，请一小时后再试"


class ProgressDesk:
    def __init__(self, cases: Alone | None, attempts: AttemptLog, settings: PublicSettings, clock: Clock,
                 hall_name: Callable[[str], str]) -> None:
        self.cases = cases
        self.attempts = attempts
        self.settings = settings
        self.clock = clock
        self.hall_name = hall_name

    def look(self, case_id: str, tail: str, client: str) -> Progress:
        # A phone keyboard may type full-width characters: ＪＱ－２０２６ is JQ-2026.
        case_id, tail = unicodedata.normalize("NFKC", case_id).strip(), unicodedata.normalize("NFKC", tail)
        now = self.clock.wall_ms()
        since = now - HOUR_MS
        limits = self.settings
        if (self.attempts.by_client((KIND,), client, since) >= limits.progress_per_client_per_hour
                or self.attempts.by_subject(KIND, case_id, since) >= limits.progress_per_case_per_hour):
            self._note(case_id, client, "refused: too many", now)
            raise ProgressRefused(BUSY, busy=True)
        found = self._read(case_id, tail.strip(), now)
        self._note(case_id, client, "shown" if found else "not found", now)
        if found is None:
            raise ProgressRefused(NOT_FOUND)
        return found

    def _read(self, case_id: str, tail: str, now_ms: int) -> Progress | None:
        if self.cases is None or not _CASE_ID.match(case_id) or not _is_tail(tail):
            return None
        with self.cases() as store:
            try:
                phone = store.contact_phone(case_id)
                if not phone or phone == ERASED or not normalize_phone(phone).endswith(tail):
                    return None
                view = store.case(case_id)
            except UnknownCase:
                return None
        today = datetime.fromtimestamp(now_ms / 1000, HALL_TIME).date()
        return progress_of(view, self.hall_name(view.hall), today)

    def _note(self, case_id: str, client: str, outcome: str, now_ms: int) -> None:
        self.attempts.record(KIND, client, case_id, outcome, now_ms)
        log.info("progress query for case %s from %s: %s", case_id[:64], mask_address(client), outcome)


def _is_tail(tail: str) -> bool:
    return len(tail) == 4 and tail.isascii() and tail.isdigit()
