"""A long-lived process: run until SIGTERM, stopped whatever happens; the systemd watchdog pings
only while every MQTT link thread is alive."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from spine.service import LinkHealth, Periodic, run_until_signal, start_watchdog
from tests.support import wait_until


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A stand-in for systemd's notify socket, with WatchdogSec=0.3."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "300000")
    yield sock
    sock.close()


def test_ready_then_pings_while_links_live_and_silence_once_one_dies(systemd: socket.socket) -> None:
    link_stop = threading.Event()
    link = threading.Thread(target=link_stop.wait, name="uplink-kiosk-1", daemon=True)
    link.start()
    stop = threading.Event()
    start_watchdog(LinkHealth(), stop)
    try:
        assert systemd.recv(100) == b"READY=1"
        assert systemd.recv(100) == b"WATCHDOG=1"
        assert systemd.recv(100) == b"WATCHDOG=1"
        link_stop.set()
        link.join()
        systemd.settimeout(0.5)
        received: list[bytes] = []
        with pytest.raises(TimeoutError):
            while True:  # drain pings sent before the death was seen; then silence
                received.append(systemd.recv(100))
        assert len(received) <= 2
    finally:
        stop.set()


def test_nothing_is_sent_outside_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert start_watchdog(lambda: True) is None


class FakeService:
    """A service with one MQTT-like link thread, recording what was done to it."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._link_stop = threading.Event()

    def start(self) -> None:
        self.calls.append("start")
        threading.Thread(target=self._link_stop.wait, name="uplink-fake", daemon=True).start()

    def stop(self) -> None:
        self.calls.append("stop")
        self._link_stop.set()

    def diagnostics(self) -> dict[str, object]:
        return {"calls": list(self.calls)}


def test_a_service_runs_until_sigterm_then_stops_and_the_old_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGTERM)

    def terminate(service: FakeService, stop: threading.Event) -> None:
        assert service.calls == ["start"]
        os.kill(os.getpid(), signal.SIGTERM)  # what systemd sends
        assert stop.wait(10), "SIGTERM did not ask the service to stop"

    service = run_until_signal(FakeService, until=terminate)

    assert service.calls == ["start", "stop"]
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_service_is_stopped_when_its_work_fails() -> None:
    built: list[FakeService] = []

    def build() -> FakeService:
        built.append(FakeService())
        return built[0]

    def fail(_service: FakeService, _stop: threading.Event) -> None:
        raise RuntimeError("the work failed")

    with pytest.raises(RuntimeError, match="the work failed"):
        run_until_signal(build, until=fail)
    assert built[0].calls == ["start", "stop"]


def test_systemd_hears_ready_while_the_service_runs_and_stopping_at_the_end(systemd: socket.socket) -> None:
    def run_a_moment(_service: FakeService, stop: threading.Event) -> None:
        assert systemd.recv(100) == b"READY=1"
        assert systemd.recv(100) == b"WATCHDOG=1"

    run_until_signal(FakeService, until=run_a_moment)

    messages = []
    systemd.settimeout(0.5)
    with contextlib.suppress(TimeoutError):
        while True:  # pings may still have been on their way
            messages.append(systemd.recv(100))
    assert b"STOPPING=1" in messages


def test_a_periodic_task_survives_a_failing_round_unless_its_death_is_the_alarm() -> None:
    stop = threading.Event()
    rounds: list[int] = []

    def flaky() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("the store was busy")

    settler = Periodic("rating-settle", 0.01, flaky, stop)
    sweeper = Periodic("presence", 0.01, lambda: 1 / 0, stop, fatal=True)
    settler.start()
    sweeper.start()
    try:
        wait_until(lambda: len(rounds) >= 3, 10, "rounds after the failing one")
        sweeper.join(timeout=10)  # ends by itself: the watchdog sees a watched thread die
        assert sweeper._thread is not None and not sweeper._thread.is_alive()
    finally:
        stop.set()
        settler.join(timeout=10)
