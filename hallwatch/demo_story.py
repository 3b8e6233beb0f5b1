"""The demo's story: one readable line per meaningful hall event, as central learns of it.

Tickets taken, calls, visits served (or not), ratings, transfers and footage holds
come from central's event log; a light turning worse and a complaint from central's
change feed (what the big screen hears). Only what happens from `since_ms` on is
told: the seeded day is on the big screen, not in the story. Everything else the
demo's parts say goes to the log file.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from central.service import CentralService
from central.web.labels import look

HALL_ZONE = ZoneInfo("Asia/Shanghai")
GRADE_WORDS = {"very_satisfied": "very satisfied (非常满意)", "satisfied": "satisfied (满意)",
               "basically_satisfied": "basically satisfied (基本满意)",
               "dissatisfied": "dissatisfied (不满意)", "very_dissatisfied": "very dissatisfied (非常不满意)"}
TOLD = ("queue.ticket_issued", "queue.called", "queue.served", "queue.no_show", "queue.transferred",
        "rating.recorded", "recorder.hold")


def clock(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, HALL_ZONE).strftime("%H:%M:%S")


def happened_ms(kind: str, body: Mapping[str, Any], stored_ms: int) -> int:
    """When the event's own body says it happened (a seeded day's events are dated earlier)."""
    for key in ("at", "rated_at", "placed_at", "issued_at"):
        value = body.get(key)
        if isinstance(value, int):
            return value
    return stored_ms


def line(kind: str, body: Mapping[str, Any], officer_name: Callable[[str | None], str]) -> str | None:
    """The story's line of one event (without its time), or None when it tells nothing."""
    ticket, window = body.get("ticket"), body.get("window")
    at_window = f"window {window} ({officer_name(body.get('officer'))})"
    if kind == "queue.ticket_issued":
        ahead = body.get("people_ahead", 0)
        return f"ticket   {ticket} {body.get('service_name', '')}: {ahead or 'nobody'} waiting before it"
    if kind == "queue.called":
        waited = round(int(body.get("wait_ms", 0)) / 1000)
        return f"called   {ticket} to {at_window}, after {waited} s in the queue"
    if kind == "queue.served":
        took = round(int(body.get("service_ms", 0)) / 1000)
        return f"served   {ticket} at {at_window} in {took} s"
    if kind == "queue.no_show":
        return f"no-show  {ticket} did not come to window {window}"
    if kind == "queue.transferred":
        return f"moved    {ticket} from window {window} to service {body.get('to_service')}"
    if kind == "rating.recorded":
        visit = (body.get("visit") or {}).get("ticket", "a visit")
        grade = body.get("grade")
        said = GRADE_WORDS.get(grade, grade) if grade else "not rated"
        return f"rated    {visit} at window {window}: {said}"
    if kind == "recorder.hold" and body.get("state") == "active":
        return f"footage  {body.get('camera')} held for {body.get('why', '')[:60]}"
    return None


def happening_line(kind: str, data: Mapping[str, Any]) -> str | None:
    """A change the big screen announces: a case's light turning worse, a complaint."""
    if kind == "escalation":
        stage = str(data.get("stage"))
        return (f"light    case {data.get('case_id')} ({data.get('unit')}, {data.get('hall')}) is now "
                f"{stage.replace('_', ' ')} ({look(stage).label})")
    if kind == "complaint" and not data.get("overdue"):
        return f"complaint {data.get('id')} received for {data.get('hall')}"
    return None


class Story:
    """Polls central and tells each new meaningful event once, in the order central stored it."""

    def __init__(self, central: CentralService, tell: Callable[[str], None], *, since_ms: int,
                 officers: Mapping[str, Mapping[str, str]]) -> None:
        self.central = central
        self.tell = tell
        self.since_ms = since_ms
        self.officers = officers
        self._last_event = int(central.store.query("SELECT coalesce(max(id), 0) FROM events")[0][0])
        self._feed_version = central.feed.version  # the seeding tick's escalations are history
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def officer_name(self, officer: str | None) -> str:
        return str(self.officers.get(officer or "", {}).get("name", officer or "nobody logged in"))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="demo-story", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.tell_news()

    def tell_news(self) -> None:
        marks = ", ".join("?" for _ in TOLD)
        rows = self.central.store.query(
            f"SELECT id, type, received_at, payload FROM events WHERE id > ? AND type IN ({marks}) "
            "ORDER BY id", (self._last_event, *TOLD))
        for event_id, kind, received_at, payload in rows:
            self._last_event = max(self._last_event, int(event_id))
            body = json.loads(payload).get("body", {})
            when = happened_ms(kind, body, int(received_at))
            text = line(kind, body, self.officer_name) if when >= self.since_ms else None
            if text:
                self.tell(f"{clock(when)}  {text}")
        for happening in self.central.feed.since(self._feed_version):
            self._feed_version = max(self._feed_version, happening.version)
            text = happening_line(happening.kind, happening.data)
            if text:
                when = int(happening.data.get("at", 0)) * 1000 or self.since_ms
                self.tell(f"{clock(when)}  {text}")
