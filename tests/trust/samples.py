"""A valid body of every event type, as the device or gateway of a test hall would state it.

`sample(type, speaker)` fills in who and where from the speaker, so a body is
about its author when its author may state it at all: a window-bound fact names
the speaker's window, a self-test its kind. A type without a sample fails
`test_every_event_type_has_a_sample`, so the table test cannot skip a new type.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

HALL = "hall-01"
OTHER_HALL = "hall-02"
WINDOW = "7"
OFFICER = "off-7"
UNIT = "自然资源局"
OTHER_UNIT = "公安局"
SHA = "0" * 64
_serial = itertools.count(1)


@dataclass(frozen=True)
class Who:
    """Whom a sample body is about: the author's id, kind and window, the window's officer."""

    device: str
    kind: str
    window: str | None = None
    officer: str | None = OFFICER
    hall: str = HALL
    unit: str = UNIT


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def today() -> str:
    """The hall's date (the gateway's queue counts days in Asia/Shanghai)."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def shanghai(minutes_ago: int = 0) -> str:
    """An instant in Asia/Shanghai wall time (how approval systems write them)."""
    moment = datetime.now(UTC) + timedelta(hours=8) - timedelta(minutes=minutes_ago)
    return moment.replace(tzinfo=None).isoformat(timespec="seconds")


def case_id() -> str:
    return f"TR-{next(_serial):05d}"


def entry(who: Who, case: str, **changes: Any) -> dict[str, Any]:
    """A case as a window enters it."""
    body: dict[str, Any] = {
        "case_id": case, "by": who.officer or "nobody", "hall": who.hall, "unit": who.unit,
        "window": who.window, "matter": "户外广告设置许可", "contact_name": "张三",
        "contact_phone": "13812345678", "officer_name": "李四", "officer_id": who.officer,
        "officer_phone": "13900001111", "applied_at": shanghai(30), "accepted_at": shanghai(20), "limit": 5,
    }
    body.update(changes)
    return body


def case_fact(who: Who, case: str, **more: Any) -> dict[str, Any]:
    return {"case_id": case, "by": who.officer or "nobody", "at": shanghai(10), **more}


def _rating(who: Who) -> dict[str, Any]:
    at = now_ms()
    return {"rating": f"r-{who.device}-{next(_serial):06d}", "visit": None, "trigger": "officer_request",
            "armed_at": at - 2000}


def _visit_fact(who: Who) -> dict[str, Any]:
    at = now_ms()
    return {"day": today(), "ticket": "A900", "service": "A", "window": who.window or WINDOW,
            "officer": who.officer, "at": at}


SAMPLES: dict[str, Callable[[Who, str], dict[str, Any]]] = {
    # spine
    "sim.counter": lambda who, _c: {"n": next(_serial)},
    "sim.reading": lambda who, _c: {"n": next(_serial), "value": 21.5},
    "device.dropped": lambda who, _c: {"counts": {}, "total": 0},
    "device.online": lambda who, _c: {"device": "recorder-ghost", "boot": "boot-0001", "kind": "recorder"},
    "device.offline": lambda who, _c: {"device": "kiosk-other", "reason": "connection lost",
                                       "last_seen": now_ms()},
    "device.clock_skew": lambda who, _c: {"device": "kiosk-other", "skew_ms": 60_000, "state": "skewed"},
    "gateway.dead_letter": lambda who, _c: {"device": who.device, "topic": "x", "reason": "x", "size": 1},
    # provisioning
    "device.selftest": lambda who, _c: {"kind": who.kind, "passed": True, "steps": []},
    "device.config_applied": lambda who, _c: {"version": 1, "applied": False, "reason": "a test"},
    "device.state_changed": lambda who, _c: {"device": "kiosk-new", "state": "active",
                                             "previous": "provisioned", "reason": "self-test passed"},
    # queue: the kiosk's
    "queue.kiosk_ready": lambda who, _c: {"slot": 1, "slots": 1, "day": today(), "services": [
        {"prefix": "A", "name": "综合业务", "windows": [WINDOW], "daily_limit": 500}]},
    "queue.ticket_issued": lambda who, _c: {
        "ticket": f"A{500 + next(_serial) % 400}", "day": today(), "service": "A", "service_name": "综合业务",
        "number": 500, "slot": 1, "people_ahead": 0, "issued_at": now_ms()},
    "queue.ticket_voided": lambda who, _c: {"ticket": "A999", "day": today(), "reason": "a test"},
    "queue.printer_status": lambda who, _c: {"state": "ready", "printable": True},
    "queue.ticket_refused": lambda who, _c: {"reason": "closed"},
    # queue: the caller's
    "queue.window_action": lambda who, _c: {"action": "hello", "window": who.window or WINDOW,
                                            "request": f"req-{next(_serial):06d}"},
    "queue.contact_given": lambda who, _c: {"day": today(), "ticket": "A001", "window": who.window or WINDOW,
                                            "phone": "13800000001"},
    # queue: the gateway's
    "queue.called": lambda who, _c: {**_visit_fact(who), "issued_at": now_ms(), "waiting_since": now_ms(),
                                     "wait_ms": 0},
    "queue.recalled": lambda who, _c: {**_visit_fact(who), "recalls": 1},
    "queue.no_show": lambda who, _c: {**_visit_fact(who), "called_at": now_ms()},
    "queue.parked": lambda who, _c: {**_visit_fact(who), "active_ms": 0},
    "queue.transferred": lambda who, _c: {**_visit_fact(who), "to_service": "B", "active_ms": 0},
    "queue.served": lambda who, _c: {**_visit_fact(who), "called_at": now_ms() - 60_000,
                                     "service_ms": 60_000},
    "queue.window_changed": lambda who, _c: {"window": who.window or WINDOW, "officer": "intruder",
                                             "state": "open", "at": now_ms()},
    "queue.anomaly": lambda who, _c: {"kind": "number_collision", "detail": "a test"},
    # rating: the terminal's
    "rating.given": lambda who, _c: {**_rating(who), "grade": "satisfied", "key": "2", "rated_at": now_ms(),
                                     "reason_pending": False},
    "rating.reason": lambda who, _c: {"rating": f"r-{who.device}-reason", "reason": None, "at": now_ms()},
    "rating.not_rated": lambda who, _c: {**_rating(who), "ended_at": now_ms(), "why": "timeout"},
    "rating.key_flagged": lambda who, _c: {"flag": "unarmed", "key": "3", "at": now_ms()},
    "rating.terminal_fault": lambda who, _c: {"state": "ok", "at": now_ms()},
    # rating: the gateway's
    "rating.recorded": lambda who, _c: {
        "hall": who.hall, "window": who.window or WINDOW, "officer": "off-victim", "department": UNIT,
        "how": "session", "rating": f"r-forged-{next(_serial):06d}", "terminal": "rating-7",
        "grade": "very_dissatisfied", "rated_at": now_ms(), "source_event": "forged"},
    "rating.reason_recorded": lambda who, _c: {"rating": "r-forged-reason", "terminal": "rating-7",
                                               "reason": None, "source_event": "forged"},
    "rating.refused": lambda who, _c: {"rating": "r-forged-refused", "terminal": "rating-7",
                                       "reason": "a test", "source_event": "forged"},
    # recorder
    "recorder.camera_state": lambda who, _c: {"camera": "cam-1", "state": "recording", "since": now_ms(),
                                              "restarts": 0},
    "recorder.gap": lambda who, _c: {"gap_id": next(_serial), "camera": "cam-1", "start": now_ms() - 9000,
                                     "end": now_ms(), "cause": "stalled"},
    "recorder.coverage": lambda who, _c: {"camera": "cam-1", "ranges": [[now_ms() - 9000, now_ms()]],
                                          "segments": 1, "bytes": 100, "last_segment_id": next(_serial)},
    "recorder.hold": lambda who, _c: {
        "hold_id": f"hold-{next(_serial)}", "camera": "cam-1", "start": now_ms() - 9000, "end": now_ms(),
        "until": now_ms() + 9000, "who": "a test", "why": "a test", "state": "active", "placed_at": now_ms(),
        "source": "local"},
    "recorder.export": lambda who, _c: {
        "export_id": f"export-{next(_serial)}", "camera": "cam-1", "start": now_ms() - 9000, "end": now_ms(),
        "who": "a test", "why": "a test", "created_at": now_ms(), "clip_bytes": 1, "clip_sha256": SHA,
        "manifest_sha256": SHA},
    "recorder.alarm": lambda who, _c: {"code": "disk_low", "state": "cleared", "message": "a test"},
    "recorder.reconciled": lambda who, _c: {"unlinked": 0, "listed": 0, "leftovers": 0, "missing": 0,
                                            "seconds": 0.1},
    "recorder.health": lambda who, _c: {"cameras": [], "disk": {
        "used_bytes": 0, "allowed_bytes": 1, "held_bytes": 0, "fs_free_bytes": 1, "fs_total_bytes": 1,
        "segments": 0}},
    # cases: a window's (and an approval system's)
    "case.accepted": lambda who, case: entry(who, case),
    "case.suspended": lambda who, case: case_fact(who, case, reason="hearing", note=""),
    "case.resumed": lambda who, case: case_fact(who, case),
    "case.completed": lambda who, case: case_fact(who, case),
    "case.completion_confirmed": lambda who, case: case_fact(who, case),
    "case.corrected": lambda who, case: {"case_id": case, "by": who.officer or "nobody", "corrects": 1,
                                         "changes": {"void": True}, "reason": "a test"},
    "case.decided": lambda who, case: case_fact(who, case, matter="违法建设罚款", circumstance="一般",
                                                amount=20000),
    # cases: central's own
    "case.escalated": lambda who, case: {"case_id": case, "kind": "red_card", "due_at": shanghai(),
                                         "unit": who.unit, "officer_name": "李四"},
    "case.reminder": lambda who, case: {"case_id": case, "kind": "yellow_light", "due_at": shanghai(),
                                        "unit": who.unit, "officer_name": "李四"},
    # security: the gateway's
    "security.refused": lambda who, _c: {"device": "kiosk-other", "reason": "a test", "refusals": 1},
    "security.released": lambda who, _c: {"device": who.device, "by": "tech", "quarantined_at": now_ms()},
}

CASE_ORDER = ("case.accepted", "case.suspended", "case.resumed", "case.completed",
              "case.completion_confirmed", "case.corrected")
"""The order a window states a case's facts in (each after the case exists)."""


def sample(type: str, who: Who, case: str = "TR-00000") -> dict[str, Any]:
    return SAMPLES[type](who, case)
