"""Clocks behind a small interface: a Pi may boot with the wrong wall time, never trust it blindly."""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def wall_ms(self) -> int:
        """Wall-clock time, ms since the epoch (UTC). Wrong on a Pi without RTC before NTP."""
        ...

    def mono_ms(self) -> int:
        """Monotonic time, ms, comparable within one boot (see `boot_id`)."""
        ...

    def boot_id(self) -> str:
        """Identifies the span in which `mono_ms` values are comparable."""
        ...


def _read_boot_id() -> str:
    # The kernel's boot id names exactly the span of CLOCK_MONOTONIC, so a receiver
    # can date events recorded by an earlier process of the same boot.
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:16]
    except OSError:
        return secrets.token_hex(8)


class SystemClock:
    """The real clocks of the machine."""

    def __init__(self) -> None:
        self._boot = _read_boot_id()

    def wall_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def mono_ms(self) -> int:
        return time.monotonic_ns() // 1_000_000

    def boot_id(self) -> str:
        return self._boot


class SimulatedClock:
    """A clock a test sets and advances by hand; also models a Pi booting with a wrong clock."""

    def __init__(self, wall_ms: int = 1_764_115_200_000, boot: str = "simboot0") -> None:
        self._lock = threading.Lock()
        self._wall = wall_ms
        self._mono = 0
        self._boot = boot

    def wall_ms(self) -> int:
        with self._lock:
            return self._wall

    def mono_ms(self) -> int:
        with self._lock:
            return self._mono

    def boot_id(self) -> str:
        return self._boot

    def advance(self, ms: int) -> None:
        with self._lock:
            self._wall += ms
            self._mono += ms

    def set_wall(self, wall_ms: int) -> None:
        """An NTP step: the wall clock jumps, the monotonic clock does not."""
        with self._lock:
            self._wall = wall_ms
