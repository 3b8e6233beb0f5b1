"""Running a long-lived hallwatch process: start it, tell systemd, stop it cleanly on SIGTERM or Ctrl-C.

Every `hall ... run` builds its service and hands it to `run_until_signal`:
the service starts, systemd hears READY=1 once its MQTT link threads run and
WATCHDOG=1 while every one of them lives (a paho network thread or an uplink
sender that died leaves a deaf agent that is still "running": systemd then
restarts it), and STOPPING=1 when it stops. Outside systemd nothing is sent.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)

COLLECTOR_THRESHOLDS = (20_000, 20, 20)
"""The cyclic garbage collector's thresholds in a running role (see `run_until_signal`)."""

WATCHED_PREFIXES = ("paho-mqtt-client", "uplink-", "presence", "commits-")
"""Names of the threads a process is deaf without: MQTT network loops, uplink senders, the
gateway's presence sweeper, a receiver's commit worker."""


class Service(Protocol):
    """A long-lived part of a process (a gateway, central, an edge agent)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def diagnostics(self) -> dict[str, Any]: ...


ServiceT = TypeVar("ServiceT", bound=Service)


def sd_notify(message: str) -> bool:
    """Send one sd_notify message; False when not run by systemd with a notify socket."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(message.encode())
    return True


class LinkHealth:
    """Healthy while every watched thread seen so far is still alive (and at least one was seen)."""

    def __init__(self) -> None:
        self.seen: dict[str, threading.Thread] = {}

    def __call__(self) -> bool:
        for thread in threading.enumerate():
            if thread.name.startswith(WATCHED_PREFIXES):
                self.seen[thread.name] = thread
        return bool(self.seen) and all(t.is_alive() for t in self.seen.values())


class Periodic:
    """`work()` every `interval_s` on a daemon thread named `name`, until `stop` is set.

    A failing round is logged and the next one retries; with `fatal=True` a failure ends
    the thread instead, for a thread the watchdog watches (`WATCHED_PREFIXES`): its death
    is what gets the process restarted.
    """

    def __init__(self, name: str, interval_s: float, work: Callable[[], object], stop: threading.Event,
                 *, fatal: bool = False) -> None:
        self.name = name
        self.interval_s = interval_s
        self.work = work
        self.stop = stop
        self.fatal = fatal
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self.stop.wait(self.interval_s):
            try:
                self.work()
            except Exception:
                if self.fatal:
                    log.exception("%s failed: the thread ends", self.name)
                    return
                log.exception("%s failed; the next round retries", self.name)


_watchdog: tuple[threading.Thread, threading.Event] | None = None
_watchdog_lock = threading.Lock()


def start_watchdog(
    health: Callable[[], bool], stop: threading.Event | None = None
) -> threading.Thread | None:
    """Ping systemd at a third of WatchdogSec while `health()` holds; READY=1 at the first success.

    None outside systemd. One watchdog per process: a second call while one runs returns it.
    """
    global _watchdog
    usec = int(os.environ.get("WATCHDOG_USEC", "0") or 0)
    if not usec or not os.environ.get("NOTIFY_SOCKET"):
        return None
    with _watchdog_lock:
        if _watchdog is not None and _watchdog[0].is_alive() and not _watchdog[1].is_set():
            return _watchdog[0]
        interval = usec / 1_000_000 / 3
        stopped = stop or threading.Event()

        def run() -> None:
            ready = False
            while not stopped.wait(interval if ready else 0.5):
                if health():
                    if not ready:
                        sd_notify("READY=1")
                        ready = True
                    sd_notify("WATCHDOG=1")
                elif ready:
                    log.error("an MQTT link thread died: no longer telling systemd we are alive")

        thread = threading.Thread(target=run, name="systemd-watchdog", daemon=True)
        thread.start()
        _watchdog = (thread, stopped)
        return thread


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def install_stop_signals(stop: threading.Event) -> dict[int, Any]:
    """SIGTERM (systemd) and SIGINT (Ctrl-C) set `stop` instead of interrupting the main thread.
    Returns the handlers they had, for `restore_signals`."""

    def handle(_signum: int, _frame: object) -> None:
        stop.set()

    return {signum: signal.signal(signum, handle) for signum in _STOP_SIGNALS}


def restore_signals(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def run_until_signal(
    build: Callable[[], ServiceT],
    *,
    until: Callable[[ServiceT, threading.Event], None] | None = None,
    stop: threading.Event | None = None,
) -> ServiceT:
    """Build and start a service, keep it running until SIGTERM or SIGINT, then stop it.

    `until(service, stop)` runs in the main thread instead of a plain wait, for a
    command that does work of its own (a simulated device recording events) and
    may return early; `stop` is set when a signal comes. The service is stopped
    whatever happens, and returned.
    """
    stop = stop or threading.Event()
    previous = install_stop_signals(stop)
    thresholds = gc.get_threshold()
    try:
        service = build()
        service.start()
        # What start-up built lives as long as the process: kept out of the cyclic collector, it
        # is not rescanned every few thousand allocations (a receiver makes that many per batch,
        # and rescanning central's web stack cost a quarter of its CPU per event).
        gc.freeze()
        # A receiver's batch makes a few thousand objects that live until it commits: at the
        # default threshold (700) each batch set off several young collections that moved them
        # all to the old generation, and old ones that scanned it again. Collecting every
        # 20,000 allocations cut the gateway's and central's CPU per event by about a tenth;
        # what a cycle holds meanwhile is a few MB at most, even on a Pi.
        gc.set_threshold(*COLLECTOR_THRESHOLDS)
        start_watchdog(LinkHealth(), stop)
        try:
            if until is None:
                stop.wait()
            else:
                until(service, stop)
        finally:
            sd_notify("STOPPING=1")
            stop.set()
            service.stop()
    finally:
        restore_signals(previous)
        gc.set_threshold(*thresholds)
    return service
