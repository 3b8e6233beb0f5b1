"""The SMS feed: follows each log, hands each new fact to the SMS platform, then moves on.

A source whose cursor is missing starts at its log's end: switching SMS on
does not message every citizen of the past. A fact older than `stale_after_h`
(a history import, a hall's old backlog) is passed over, counted, not told. A
fact the platform refuses (a malformed body) is logged and passed over; any
other failure (a locked file) stops that source's pass before the fact, which
is tried again at the next pass.

Several central processes may each run the feed: each chunk of a log is read,
queued and its cursor moved in one claim of that cursor (`FeedCursors.claim`, an
advisory lock on PostgreSQL), so each fact is queued by one process. On
PostgreSQL the outbox is the shared database's, and its (fact, recipient,
template) key makes a chunk queued again after a process died before its
claim's commit a no-op (docs/operations.md, "Several central processes").
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from central.sms_feed.cursor import FeedCursors
from central.sms_feed.facts import Fact, FactSource
from central.sms_feed.settings import SmsFeedSettings
from spine.clock import Clock

log = logging.getLogger(__name__)

Notify = Callable[..., object]
"""`SmsPlatform.notify(fact_id, fact_type, body, due_day=...)`."""


class SmsFeed:
    def __init__(self, notify: Notify, sources: Sequence[FactSource], cursors: FeedCursors,
                 settings: SmsFeedSettings, clock: Clock) -> None:
        self.notify = notify
        self.sources = list(sources)
        self.cursors = cursors
        self.settings = settings
        self.clock = clock
        self.counts: dict[str, dict[str, int]] = {
            s.name: {"told": 0, "stale": 0, "silent": 0, "refused": 0} for s in self.sources}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        now = self.clock.wall_ms()
        for source in self.sources:
            with self.cursors.claim(source.name) as cursor:
                if cursor.position is None:  # claimed: two processes starting together set it once
                    head = source.head()
                    cursor.move(head, now)
                    log.info("SMS feed starts at the end of the %s log (position %d)", source.name, head)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sms-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        self.cursors.close()

    def wake(self) -> None:
        """Something was just committed: read the logs now rather than at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.run_once()
            except Exception:  # the feed must outlive one bad pass; the next one retries
                log.exception("the SMS feed's pass failed")
            self._wake.wait(self.settings.poll_s)

    def run_once(self) -> int:
        """One pass over every log; how many facts were handed to the platform."""
        told = 0
        with self._lock:
            for source in self.sources:
                try:
                    told += self._pass(source)
                except Exception:  # one log that cannot be read does not silence the others
                    log.exception("SMS feed: reading the %s log failed; tried again next pass",
                                  source.name)
        return told

    def _pass(self, source: FactSource) -> int:
        stale_before = self.counts[source.name]["stale"]
        try:
            return self._read_on(source)
        finally:
            stale = self.counts[source.name]["stale"] - stale_before
            if stale:
                log.info("SMS feed: %d fact(s) of the %s log happened too long ago to be told",
                         stale, source.name)

    def _read_on(self, source: FactSource) -> int:
        told = 0
        while True:
            # Each chunk is read, queued and passed in one claim of the log's cursor, so another
            # central process's feed takes none of its facts (`FeedCursors.claim`).
            failure: Exception | None = None
            with self.cursors.claim(source.name) as cursor:
                position = cursor.position
                if position is None:
                    return told
                chunk = source.after(position, self.settings.batch)
                handed = position
                try:
                    for fact in chunk.facts:
                        told += self._tell(source.name, fact)
                        handed = fact.position
                except Exception as exc:  # raised again once the claim is settled
                    failure = exc
                # Only now, every fact before it handed over. On a failure the cursor still moves
                # past what was queued, so the fact that failed is the next one taken, by this or
                # another process (whose SMS outbox would not know those before it).
                upto = chunk.upto if failure is None else handed
                if upto != position:
                    cursor.move(upto, self.clock.wall_ms())
            if failure is not None:
                raise failure
            if chunk.upto == position or len(chunk.facts) < self.settings.batch:
                return told

    def _tell(self, source: str, fact: Fact) -> int:
        """Hand one fact to the platform; 1 if it was handed over."""
        counts = self.counts[source]
        if fact.body is None:
            counts["silent"] += 1
            return 0
        if self.clock.wall_ms() - fact.happened_ms > self.settings.stale_after_h * 3_600_000:
            counts["stale"] += 1  # counted, not logged one by one: an import may bring thousands
            return 0
        try:
            self.notify(fact.fact_id, fact.fact_type, fact.body, due_day=fact.due_day)
        except (ValidationError, ValueError, KeyError) as exc:
            counts["refused"] += 1
            log.error("SMS feed: %s %s cannot be told: %s", fact.fact_type, fact.fact_id, exc)
            return 0
        counts["told"] += 1
        return 1

    def diagnostics(self) -> dict[str, Any]:
        positions: Mapping[str, int | None] = {s.name: self.cursors.get(s.name) for s in self.sources}
        return {name: {"position": positions[name], **counts} for name, counts in self.counts.items()}
