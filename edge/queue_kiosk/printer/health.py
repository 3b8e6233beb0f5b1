"""The printer's health over time: polled in the background, checked before every ticket.

A change is announced once (`on_change`), so a printer out of paper for an
hour is one log line and one upstream event, and "printer back" is another.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from contract.events.queue import PrinterState
from edge.queue_kiosk.printer.link import PrinterLink
from edge.queue_kiosk.printer.status import PrinterHealth

log = logging.getLogger(__name__)

HealthListener = Callable[[PrinterHealth | None, PrinterHealth], None]


class PrinterMonitor:
    def __init__(self, link: PrinterLink, poll_s: float, on_change: HealthListener | None = None) -> None:
        self.link = link
        self.poll_s = poll_s
        self._listeners: list[HealthListener] = [on_change] if on_change else []
        self._lock = threading.Lock()
        self._current: PrinterHealth | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add_listener(self, listener: HealthListener) -> None:
        self._listeners.append(listener)

    @property
    def current(self) -> PrinterHealth | None:
        with self._lock:
            return self._current

    def check(self) -> PrinterHealth:
        """Ask the printer now and announce a change; the answer it gives is the fresh one."""
        health = self.link.health()
        self.observe(health)
        return health

    def observe(self, health: PrinterHealth) -> None:
        """Take a verdict learnt another way (a write that failed)."""
        with self._lock:
            previous = self._current
            if previous is not None and previous.state == health.state:
                return
            self._current = health
        if health.state is PrinterState.READY and previous is not None:
            log.warning("printer back: %s (was %s)", health.state, previous.state)
        elif health.state is not PrinterState.READY:
            log.warning("printer %s: %s", health.state.value.replace("_", " "), health.detail)
        for listener in self._listeners:
            try:
                listener(previous, health)
            except Exception:
                log.exception("a printer health listener failed")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="printer-health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:
                log.exception("printer health poll failed")
            self._stop.wait(self.poll_s)
