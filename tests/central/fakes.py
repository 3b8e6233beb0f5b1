"""A case board a test fills by hand: the port the API and the screen read, without the engine."""

from __future__ import annotations

from collections import Counter
from typing import Any

from central.web.caseport import OPEN_STAGES, CaseFilter, Escalation

SEVERITY = ["supervision_letter", "red_card", "yellow_card", "red_light", "yellow_light", "uncertain",
            "blue", "suspended", "completed"]


def case_row(case_id: str, stage: str, *, hall: str = "hall-01", unit: str = "民政局",
             window: str = "w03", officer: str = "李明", phone: str = "13812345678",
             on_time: bool | None = None) -> dict[str, Any]:
    return {
        "case_id": case_id, "hall": hall, "unit": unit, "window": window, "matter": "老年人优待证",
        "project_category": "承诺件", "project_attribute": "个人", "contact_name": "张三丰",
        "contact_phone": phone, "officer_name": officer, "officer_phone": "13900001111",
        "applied_at": "2026-11-20T09:00:00+08:00", "accepted_at": "2026-11-20T10:00:00+08:00",
        "limit": 5, "limit_unit": "workdays", "due": "2026-11-27", "stage": stage,
        "completed_at": None, "days_taken": None, "on_time": on_time,
    }


class HandCases:
    def __init__(self, rows: list[dict[str, Any]] | None = None) -> None:
        self.rows = {row["case_id"]: row for row in rows or []}
        self.pending: list[Escalation] = []

    def escalate(self, case_id: str, stage: str, at: int = 0) -> None:
        """The next tick will move this case to `stage` and report it."""
        row = self.rows[case_id]
        self.pending.append(Escalation(case_id, stage, row["hall"], row["unit"], at, row["stage"]))

    def _match(self, query: CaseFilter) -> list[dict[str, Any]]:
        rows = [
            r for r in self.rows.values()
            if (query.hall is None or r["hall"] == query.hall)
            and (query.unit is None or r["unit"] == query.unit)
            and (query.matter is None or r["matter"] == query.matter)
            and (query.officer is None or r["officer_name"] == query.officer)
            and (query.stage is None or r["stage"] == query.stage)
            and (not query.open_only or r["stage"] in OPEN_STAGES)
        ]
        return sorted(rows, key=lambda r: (SEVERITY.index(r["stage"]), r["case_id"]))

    def search(self, query: CaseFilter) -> list[dict[str, Any]]:
        return self._match(query)[query.offset:query.offset + query.limit]

    def count(self, query: CaseFilter) -> int:
        return len(self._match(query))

    def history(self, case_id: str) -> dict[str, Any] | None:
        row = self.rows.get(case_id)
        if row is None:
            return None
        return {"case": row, "events": [{"seq": 1, "type": "case.accepted"}], "verified": True}

    def statistics(self, group_by: str | None, query: CaseFilter, since: int | None = None,
                   until: int | None = None) -> list[dict[str, Any]]:
        key = {"officer": "officer_name"}.get(group_by or "", group_by)
        groups: dict[Any, Counter[str]] = {}
        for row in self._match(query):
            counter = groups.setdefault(row[key] if key else None, Counter())
            counter["received"] += 1
            if row["stage"] == "completed":
                counter["completed"] += 1
                counter["on_time"] += int(bool(row.get("on_time")))
            for stage, field in (("yellow_card", "yellow_cards"), ("red_card", "red_cards"),
                                 ("supervision_letter", "letters")):
                counter[field] += int(row["stage"] == stage)
        return [{"key": k, **c} for k, c in groups.items()]

    def tick(self, now_s: int) -> list[Escalation]:
        steps, self.pending = self.pending, []
        for step in steps:
            self.rows[step.case_id]["stage"] = step.stage
        return steps
