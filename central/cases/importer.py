"""Bulk import of cases and their facts from JSON Lines, through the same validation as the API.

One JSON object per line: a case entry (the `case.accepted` body), or
`{"type": "case.suspended", "body": {...}}` for any other case fact. A bad
line is reported with its number and reasons and does not stop the rest;
re-importing a file is harmless (entries already stored are duplicates).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from central.cases.store import CaseConflict, CaseStore, EntryRejected, UnknownCase
from central.cases.timebase import Instant

_CHUNK = 500


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "warned": self.warned,
            "rejected": [{"line": p.line, "problems": p.problems} for p in self.rejected],
        }


def import_lines(
    store: CaseStore, lines: Iterable[str], *, strict: bool = False, now: Instant | None = None
) -> ImportReport:
    """Import every line, committing in chunks; returns what was stored and what was refused."""
    report = ImportReport()
    pending: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            pending.append((number, line))
        if len(pending) >= _CHUNK:
            _import_chunk(store, pending, report, strict, now)
            pending = []
    if pending:
        _import_chunk(store, pending, report, strict, now)
    return report


def _import_chunk(store: CaseStore, lines: list[tuple[int, str]], report: ImportReport,
                  strict: bool, now: Instant | None) -> None:
    with store.writing():
        for number, line in lines:
            try:
                kind, body = _parse_line(line)
            except ValueError as error:
                report.rejected.append(LineProblem(number, [str(error)]))
                continue
            try:
                # Every refusal is raised before the store writes anything, so
                # the chunk's transaction stays clean when a line is refused.
                result = store.record(kind, body, now=now, strict=strict)
            except (EntryRejected, CaseConflict, UnknownCase) as error:
                problems = error.problems if isinstance(error, EntryRejected) else [str(error)]
                report.rejected.append(LineProblem(number, problems))
                continue
            if result.duplicate:
                report.duplicates += 1
            else:
                report.stored += 1
                report.warned += bool(result.warnings)


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
