"""systemd's service watchdog for any `hall` role, without a dependency.

`python -m hallwatch.watchdog ROLE-ARGS...` runs `hall ROLE-ARGS...` in this
process and tells systemd (Type=notify, WatchdogSec=) that it is ready once
its MQTT links are running, then keeps pinging only while they all are:
a paho network thread or an uplink sender that died leaves a deaf agent
that is still "running"; systemd then restarts it.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

WATCHED_PREFIXES = ("paho-mqtt-client", "uplink-", "presence")


def notify(message: str) -> bool:
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


def start_watchdog(
    health: Callable[[], bool], stop: threading.Event | None = None
) -> threading.Thread | None:
    """Ping systemd at a third of WatchdogSec while `health()` holds; READY=1 at the first success."""
    usec = int(os.environ.get("WATCHDOG_USEC", "0") or 0)
    if not usec or not os.environ.get("NOTIFY_SOCKET"):
        return None
    interval = usec / 1_000_000 / 3
    stop = stop or threading.Event()

    def run() -> None:
        ready = False
        while not stop.wait(interval if ready else 0.5):
            if health():
                if not ready:
                    notify("READY=1")
                    ready = True
                notify("WATCHDOG=1")
            elif ready:
                log.error("an MQTT link thread died: no longer telling systemd we are alive")
    thread = threading.Thread(target=run, name="systemd-watchdog", daemon=True)
    thread.start()
    return thread


def main(argv: list[str]) -> None:
    from hallwatch.cli import main as hall

    start_watchdog(LinkHealth())
    hall.main(args=argv, prog_name="hall")


if __name__ == "__main__":
    main(sys.argv[1:])
