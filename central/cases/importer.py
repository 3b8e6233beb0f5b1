"""Bulk import of cases and their facts from JSON Lines, through the same validation as the API.

One JSON object per line: a case entry (the `case.accepted` body), or
`{"type": "case.suspended", "body": {...}}` for any other case fact. A bad
line is reported with its number and reasons and does not stop the rest;
re-importing a file is harmless (entries already stored are duplicates).

A history is judged once it is all known, never line by line: while the
import runs, every case it touches is held (no tick, not even the running
service's, judges a case whose completion is a few thousand lines further
on); at the end the import releases them and ticks once, as of `at`. An
import that dies half-way leaves its cases held, nothing issued for them;
running it again takes them over and releases them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from central.cases.engine import Engine
from central.cases.sources import LIVE
from central.cases.store import CaseConflict, CaseStore, EntryRejected, UnknownCase
from central.cases.timebase import Instant, format_instant

_CHUNK = 2000


@dataclass(frozen=True)
class LineProblem:
    line: int
    problems: list[str]


@dataclass
class ImportReport:
    stored: int = 0
    duplicates: int = 0
    warned: int = 0
    rejected: list[LineProblem] = field(default_factory=list)
    warnings: list[LineProblem] = field(default_factory=list)
    """The stored lines that had warnings, and which (the entry is kept; `--strict` refuses it)."""
    at: Instant | None = None
    """The instant the imported cases were judged as of."""
    judged: int = 0
    """Cases the closing tick judged (the imported ones, and any other then due)."""
    issued: int = 0
    """Escalations and reminders that tick issued."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "warned": self.warned,
            "rejected": [{"line": p.line, "problems": p.problems} for p in self.rejected],
            "warnings": [{"line": p.line, "problems": p.problems} for p in self.warnings],
            "at": format_instant(self.at) if self.at is not None else None,
            "judged": self.judged,
            "issued": self.issued,
        }


def import_lines(
    store: CaseStore, lines: Iterable[str], *, strict: bool = False, at: Instant | None = None,
    client: str | None = None,
) -> ImportReport:
    """Import every line, committing in chunks, then judge every case as of `at` in one tick.

    `at` (default now) is the instant the history stands at: a fact after it is
    refused as in the future, and what fell due by then is issued. `client` is
    the source of a syncing API client (`api:<name>`): its cases wait for its
    facts, and the import says they are complete up to `at`.
    """
    now = store.now()
    at = now if at is None else at
    if at > now + store.rules.plausibility.future_tolerance_s:
        raise ValueError(f"cannot judge cases as of {format_instant(at)}: that is in the future")
    run = f"import:{uuid.uuid4().hex[:16]}"
    source = client or LIVE
    report = ImportReport(at=at)
    pending: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            pending.append((number, line))
        if len(pending) >= _CHUNK:
            _import_chunk(store, pending, report, strict, at, source, run)
            pending = []
    if pending:
        _import_chunk(store, pending, report, strict, at, source, run)
    with store.writing():
        store.release(run)
        if client is not None:
            store.sources.advance({client: at}, now)
    tick = Engine(store).tick(at)
    report.judged, report.issued = tick.processed, len(tick.issued)
    return report


def _import_chunk(store: CaseStore, lines: list[tuple[int, str]], report: ImportReport,
                  strict: bool, at: Instant, source: str, run: str) -> None:
    parsed: list[tuple[int, tuple[str, dict[str, Any]] | ValueError]] = []
    for number, line in lines:
        try:
            parsed.append((number, _parse_line(line)))
        except ValueError as error:
            parsed.append((number, error))
    with store.writing():
        # One look-up of the chunk's keys, not one per case (a round trip each on PostgreSQL).
        store.prefetch(sorted({str(fact[1]["case_id"]) for _n, fact in parsed
                               if isinstance(fact, tuple) and isinstance(fact[1].get("case_id"), str)}))
        for number, fact in parsed:
            if isinstance(fact, ValueError):
                report.rejected.append(LineProblem(number, [str(fact)]))
                continue
            kind, body = fact
            try:
                # Every refusal is raised before the store writes anything, so
                # the chunk's transaction stays clean when a line is refused.
                result = store.record(kind, body, now=at, strict=strict, source=source,
                                      import_run=run)
            except (EntryRejected, CaseConflict, UnknownCase) as error:
                problems = error.problems if isinstance(error, EntryRejected) else [str(error)]
                report.rejected.append(LineProblem(number, problems))
                continue
            if result.duplicate:
                report.duplicates += 1
            else:
                report.stored += 1
                if result.warnings:
                    report.warned += 1
                    report.warnings.append(LineProblem(number, list(result.warnings)))


def _parse_line(line: str) -> tuple[str, dict[str, Any]]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error.msg} at column {error.colno}") from error
    if not isinstance(data, dict):
        raise ValueError("each line must be a JSON object")
    if "type" in data:
        if set(data) != {"type", "body"} or not isinstance(data["body"], dict):
            raise ValueError('a fact line is {"type": "case....", "body": {...}}')
        return str(data["type"]), data["body"]
    return "case.accepted", data
