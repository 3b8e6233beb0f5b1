"""Live files relayed from the halls for the wall's players, each fetched from its hall once.

A browser's player asks for a camera's playlist about once a second and for
each new segment once; central asks the hall only then (nothing is fetched
ahead, so a camera nobody watches crosses the WAN not at all). Two windows or
two monitoring-room browsers watching the same camera share one fetch: a
playlist is kept for a fraction of a second, a segment (immutable by name)
for `segment_cache_s`, and concurrent askers of the same file wait for the
one request in flight.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

from central.video.links import Answer, GatewayLinks
from contract.video import CAMERA_ID, LIVE_PLAYLIST, live_file_allowed, live_path

PLAYLIST_TTL_S = 0.3
"""Short against the 1 s segments: a shared playlist is never a segment behind."""

LiveKey = tuple[str, str, str, str]  # hall, device, camera, file


class NotLiveFile(ValueError):
    """A name that is not a camera's playlist or one of its segments."""


class LiveRelay:
    def __init__(self, links: GatewayLinks, segment_cache_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.links = links
        self.segment_cache_s = segment_cache_s
        self.clock = clock
        self.fetched: Counter[tuple[str, str, str]] = Counter()
        """Requests sent to the halls per (hall, device, camera)."""
        self._cache: dict[LiveKey, tuple[float, Answer]] = {}
        self._flights: dict[LiveKey, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, hall: str, device: str, camera: str, name: str) -> Answer:
        if not CAMERA_ID.match(camera) or not CAMERA_ID.match(device) or not live_file_allowed(name):
            raise NotLiveFile(f"{device}/{camera}/{name} is not a live file")
        key = (hall, device, camera, name)
        with self._lock:
            flight = self._flights.setdefault(key, threading.Lock())
        with flight:
            cached = self._fresh(key)
            if cached is not None:
                return cached
            answer = self.links.fetch(hall, device, live_path(camera, name))
            with self._lock:
                self.fetched[(hall, device, camera)] += 1
                if answer.status == 200:
                    ttl = PLAYLIST_TTL_S if name == LIVE_PLAYLIST else self.segment_cache_s
                    self._cache[key] = (self.clock() + ttl, answer)
                self._forget_expired()
            return answer

    def _fresh(self, key: LiveKey) -> Answer | None:
        with self._lock:
            entry = self._cache.get(key)
        if entry is None or entry[0] < self.clock():
            return None
        return entry[1]

    def _forget_expired(self) -> None:
        now = self.clock()
        for key in [k for k, (expires, _) in self._cache.items() if expires < now]:
            del self._cache[key]
            self._flights.pop(key, None)
