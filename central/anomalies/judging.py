"""What a rule may consult while it judges a fact: its own state, the case's history, the calendar.

Per-case rules read the case as the case log says it was just before and just
after the fact (`file_before`, `file_after`): folded from the log records with
the case store's own `fold`, so a rule never keeps a second copy of a case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from central.anomalies.casereads import CASE_HISTORY, CaseReads, rows_of
from central.anomalies.facts import Fact
from central.cases import casefile as cf
from central.cases.calendar import WorkCalendar
from central.cases.casefile import CaseFile, CaseRuleError
from central.cases.countdown import Countdown, compute
from central.cases.eventlog import LogRecord
from central.cases.rules import Ladder
from spine.statement import Tx

Pseudonym = Callable[[str, str | None], str | None]
"""(case id, the case's sealed contact phone) -> a stable pseudonym of the applicant, never the number."""


class CaseHistory(Protocol):
    def records(self, case_id: str, upto: int) -> list[LogRecord]:
        """The case's log records with seq <= `upto`, in order."""
        ...


@dataclass
class Judging:
    tx: Tx
    """The rules' own state, inside the transaction that records their hits."""
    cases: CaseHistory
    calendar: WorkCalendar
    ladder: Ladder
    pseudonym: Pseudonym

    def file_before(self, fact: Fact) -> CaseFile | None:
        """The case as its log said just before `fact` (None: not known, or not a case fact)."""
        return self._file(fact, before=True)

    def file_after(self, fact: Fact) -> CaseFile | None:
        return self._file(fact, before=False)

    def record(self, fact: Fact, seq: int) -> LogRecord | None:
        """One earlier record of the fact's case."""
        if fact.case_id is None or fact.seq is None:
            return None
        return next((r for r in self.cases.records(fact.case_id, fact.seq) if r.seq == seq), None)

    def countdown(self, file: CaseFile) -> Countdown:
        return compute(file.clock(), self.calendar, self.ladder)

    def _file(self, fact: Fact, before: bool) -> CaseFile | None:
        if fact.case_id is None or fact.seq is None:
            return None
        file: CaseFile | None = None
        for record in self.cases.records(fact.case_id, fact.seq):
            if before and record.seq == fact.seq:
                break
            if record.kind not in cf.FACT_TYPES:
                continue
            try:
                file = cf.fold(file, record.seq, record.kind, record.at, record.body)
            except (CaseRuleError, KeyError, ValueError):
                return None  # a history the store would not have taken: nothing to judge
        return file


class LogCases:
    """The case log of a case store, on either database (None: a central that keeps no cases)."""

    def __init__(self, cases: CaseReads | None) -> None:
        self.cases = cases
        self._last: tuple[str, int, list[LogRecord]] | None = None

    def records(self, case_id: str, upto: int) -> list[LogRecord]:
        # Rules ask for the same case several times per fact: keep the last answer.
        if self._last is not None and self._last[0] == case_id and self._last[1] == upto:
            return self._last[2]
        rows = rows_of(self.cases, CASE_HISTORY, {"case_id": case_id, "upto": upto})
        found = [LogRecord(*row) for row in rows]  # type: ignore[arg-type]
        self._last = (case_id, upto, found)
        return found


class MemoryCases:
    """A case log held in memory (a synthetic history): records appended in seq order."""

    def __init__(self) -> None:
        self._by_case: dict[str, list[LogRecord]] = {}

    def add(self, record: LogRecord) -> None:
        assert record.case_id is not None
        self._by_case.setdefault(record.case_id, []).append(record)

    def records(self, case_id: str, upto: int) -> list[LogRecord]:
        return [r for r in self._by_case.get(case_id, ()) if r.seq <= upto]
