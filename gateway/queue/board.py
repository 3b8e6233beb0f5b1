"""The hall board: what kiosks (people ahead, daily limits, number floors) and displays see.

A derived view, not a fact: it is recomputed from the queue tables shortly
after a change (changes close together go out as one update) and published,
as `contract.commands.queue.QueueBoard`, to every kiosk's command topic and,
retained, to the hall's board topic.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import TypeVar

from contract.commands.queue import QueueBoard, ServiceLine, WindowLine
from contract.topics import Channel, device_topic, hall_board
from gateway.queue import store

log = logging.getLogger(__name__)

T = TypeVar("T")
Read = Callable[[Callable[[sqlite3.Connection], T]], T]
"""Runs a reader on the gateway's database, after any transaction in progress has committed."""
Publish = Callable[[str, str, bool], None]


def board_message(tx: sqlite3.Connection, day: str, at_ms: int) -> QueueBoard:
    """The board of `day` as the queue tables hold it now."""
    counts = store.board_counts(tx.execute(store.ISSUED_SQL, (day,)).fetchall(),
                                tx.execute(store.WAITING_SQL, (day,)).fetchall())
    return QueueBoard(
        day=day,
        at=at_ms,
        services={
            prefix: ServiceLine(waiting=line.waiting, waiting_priority=line.waiting_priority,
                                issued=line.issued, high={str(slot): n for slot, n in line.high.items()})
            for prefix, line in sorted(counts.items())
        },
        windows=[
            WindowLine(window=window, officer=officer, state=state, ticket=ticket, service=service)
            for window, officer, state, ticket, service in tx.execute(store.SERVING_SQL)
        ],
    )


class BoardPublisher:
    """Publishes the board of the latest changed day, at most once per `delay_ms` of changes."""

    def __init__(self, hall: str, read: Read[tuple[QueueBoard, list[str]]], publish: Publish,
                 now_ms: Callable[[], int], delay_ms: int) -> None:
        self.hall = hall
        self.read = read
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

    def publish_now(self) -> QueueBoard | None:
        with self._lock:
            day = self._day
        if day is None:
            return None
        at_ms = self.now_ms()
        board, kiosks = self.read(lambda tx: (board_message(tx, day, at_ms), store.kiosks(tx)))
        text = board.model_dump_json()
        self.publish(hall_board(self.hall), text, True)
        for device in kiosks:
            self.publish(device_topic(self.hall, device, Channel.CMD), text, False)
        self.published += 1
        return board
