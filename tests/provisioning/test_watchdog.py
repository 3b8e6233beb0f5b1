"""The systemd watchdog pings only while every MQTT link thread is alive."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hallwatch.watchdog import LinkHealth, start_watchdog


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
