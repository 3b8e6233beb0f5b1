"""The hall board: what kiosks (people ahead, daily limits, number floors) and displays see.

A derived view, not a fact: it is recomputed from the queue tables shortly
after a change (changes close together go out as one update) and published
to every kiosk's command topic and, retained, to `hall/<hall>/queue/board`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from contract.topics import Channel, device_topic, hall_topic
from gateway.queue import store

log = logging.getLogger(__name__)

Query = Callable[[str, tuple[Any, ...]], list[Any]]
Publish = Callable[[str, str, bool], None]


def board_message(day: str, issued_rows: list[Any], waiting_rows: list[Any], serving_rows: list[Any],
                  at_ms: int) -> dict[str, Any]:
    counts = store.board_counts(issued_rows, waiting_rows)
    return {
        "command": "queue.board",
        "day": day,
        "at": at_ms,
        "services": {
            prefix: {"waiting": line.waiting, "waiting_priority": line.waiting_priority,
                     "issued": line.issued, "high": {str(k): v for k, v in line.high.items()}}
            for prefix, line in sorted(counts.items())
        },
        "windows": [
            {"window": window, "officer": officer, "state": state, "ticket": ticket, "service": service}
            for window, officer, state, ticket, service in serving_rows
        ],
    }


class BoardPublisher:
    """Publishes the board of the latest changed day, at most once per `delay_ms` of changes."""

    def __init__(self, hall: str, query: Query, publish: Publish, now_ms: Callable[[], int],
                 delay_ms: int) -> None:
        self.hall = hall
        self.query = query
        self.publish = publish
        self.now_ms = now_ms
        self.delay_s = delay_ms / 1000
        self._day: str | None = None
        self._dirty = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.published = 0

    def mark(self, day: str) -> None:
        with self._lock:
            if self._day is None or day >= self._day:
                self._day = day
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="queue-board", daemon=True)
                self._thread.start()
        self._dirty.set()

    def _run(self) -> None:
        while True:
            self._dirty.wait()
            # Let a burst (a backlog draining after an outage) settle into one update.
            threading.Event().wait(self.delay_s)
            self._dirty.clear()
            try:
                self.publish_now()
            except sqlite3.ProgrammingError:
                return  # the gateway closed its store: it is stopping
            except Exception:
                log.exception("publishing the queue board failed")

    def publish_now(self) -> dict[str, Any] | None:
        with self._lock:
            day = self._day
        if day is None:
            return None
        # Reading through the store's lock waits for a transaction in progress to commit.
        message = board_message(
            day, self.query(store.ISSUED_SQL, (day,)), self.query(store.WAITING_SQL, (day,)),
            self.query(store.SERVING_SQL, ()), self.now_ms(),
        )
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        self.publish(hall_topic(self.hall, "queue/board"), text, True)
        for device in store.kiosk_devices(self.query(store.KIOSKS_SQL, ())):
            self.publish(device_topic(self.hall, device, Channel.CMD), text, False)
        self.published += 1
        return message
