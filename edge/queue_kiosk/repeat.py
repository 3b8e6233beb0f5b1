"""The kiosk's double-tap guard: a citizen pressing twice gets one ticket, whichever button.

Pure, on the press times the keypad reports (monotonic ms): the debounce below
it already makes one press per push; this is about people, not contacts.
"""

from __future__ import annotations


class RepeatGuard:
    """No second ticket within `guard_ms` of the last one, whichever button."""

    def __init__(self, guard_ms: int) -> None:
        self.guard_ms = guard_ms
        self._last: int | None = None

    def allow(self, now_ms: int) -> bool:
        if self._last is not None and now_ms - self._last < self.guard_ms:
            return False
        self._last = now_ms
        return True
