"""What a citizen types on the kiosk keypad: a service's digit(s) or an appointment code. Pure.

Digits collect until Enter ('enter' or '#'); Clear ('clear' or '*') starts
over; an entry left half-typed longer than the timeout is forgotten, so the
next citizen does not inherit it.
"""

from __future__ import annotations

from dataclasses import dataclass

ENTER_KEYS = frozenset({"enter", "#", "ok"})
CLEAR_KEYS = frozenset({"clear", "*", "backspace", "esc"})


@dataclass(frozen=True)
class ServiceChosen:
    key: str


@dataclass(frozen=True)
class CodeEntered:
    code: str


@dataclass(frozen=True)
class EntryRefused:
    typed: str
    reason: str


Entry = ServiceChosen | CodeEntered | EntryRefused


class KeypadEntry:
    def __init__(self, service_keys: set[str], code_length: int, timeout_ms: int) -> None:
        self.service_keys = service_keys
        self.code_length = code_length
        self.timeout_ms = timeout_ms
        self._typed = ""
        self._last_ms: int | None = None

    @property
    def typed(self) -> str:
        return self._typed

    def press(self, key: str, now_ms: int) -> Entry | None:
        if self._last_ms is not None and now_ms - self._last_ms > self.timeout_ms:
            self._typed = ""
        self._last_ms = now_ms
        if key in CLEAR_KEYS:
            self._typed = ""
            return None
        if key.isdigit() and len(key) == 1:
            if len(self._typed) < self.code_length:
                self._typed += key
            return None
        if key in ENTER_KEYS:
            typed, self._typed = self._typed, ""
            if typed in self.service_keys:
                return ServiceChosen(typed)
            if len(typed) == self.code_length:
                return CodeEntered(typed)
            if not typed:
                return None
            return EntryRefused(typed, "no such service key, and too short for an appointment code")
        return None
