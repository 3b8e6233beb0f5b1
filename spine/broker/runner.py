"""Running a Mosquitto broker: the hall's broker on a gateway, and the one the demo and tests start.

The broker is not the buffer: every sender keeps its events in its SQLite
outbox until the receiver acknowledges a durable commit, and sends only what
can be acknowledged (see `spine/uplink.py`). So the broker bounds what it
queues for a client that is away, and saves its state in proportion to its
traffic, not every second: an overnight gateway crash-loop must neither fill a
Pi's memory nor wear out its SD card. What it drops or loses in a crash, a
sender resends when the receiver asks for the gap.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PERSISTENCE_FILE = "mosquitto.db"


@dataclass
class BrokerOptions:
    port: int
    data_dir: Path
    bind: str = "127.0.0.1"
    extra_lines: list[str] = field(default_factory=list)
    """More mosquitto.conf lines (authentication, TLS listeners: see provisioning)."""
    own_session: bool = False
    """Start Mosquitto in a session of its own, so a Ctrl-C at the terminal reaches only the
    process that started it, which stops its clients first and the broker last (`hall demo`);
    in the terminal's session every client would lose the broker at once."""
    max_queued_messages: int = 10_000
    """Messages kept for one client while it is away (or slow). Each sender has at most its
    in-flight window and a probe now and then waiting for its receiver, so this holds the
    windows of a hall of hundreds of devices; beyond it Mosquitto drops the newest, which
    the sender still has and sends again when the receiver asks for the gap."""
    max_queued_bytes: int = 64 * 1024 * 1024
    """The same bound in bytes, so a client away for hours costs the broker a fixed amount of RAM
    (when every device of a big hall drains a backlog at once, the bound is what drops)."""
    autosave_changes: int = 100
    """Save the in-memory state after this many changes (messages queued for a client that is
    away, retained messages, subscriptions): writes grow with traffic, and an idle broker writes
    nothing. A crash loses at most these changes: senders resend, clients resubscribe and
    republish their retained status on reconnect."""


def render_config(options: BrokerOptions) -> str:
    """A mosquitto.conf for store-and-forward: persistent sessions, bounded queues, saves that
    follow the traffic."""
    lines = [
        f"listener {options.port} {options.bind}",
        "persistence true",
        f"persistence_location {options.data_dir}/",
        f"persistence_file {PERSISTENCE_FILE}",
        "autosave_on_changes true",
        f"autosave_interval {options.autosave_changes}",
        f"max_queued_messages {options.max_queued_messages}",
        f"max_queued_bytes {options.max_queued_bytes}",
        "max_inflight_messages 64",
        "message_size_limit 2097152",
        "persistent_client_expiration 14d",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages false",
    ]
    if not any(line.startswith(("allow_anonymous", "password_file")) for line in options.extra_lines):
        lines.append("allow_anonymous true")
    return "\n".join(lines + options.extra_lines) + "\n"


class MosquittoBroker:
    """A Mosquitto process we own: start, stop politely, kill -9, restart on the same port."""

    def __init__(self, options: BrokerOptions) -> None:
        self.options = options
        self.process: subprocess.Popen[bytes] | None = None
        self.options.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.options.data_dir / "mosquitto.conf"
        self.log_path = self.options.data_dir / "mosquitto.log"

    @property
    def port(self) -> int:
        return self.options.port

    @property
    def persistence_path(self) -> Path:
        """The file Mosquitto saves its sessions, queues and retained messages in."""
        return self.options.data_dir / PERSISTENCE_FILE

    def start(self, timeout: float = 10.0) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise RuntimeError("mosquitto is not installed: run 'make setup' (apt-get install mosquitto)")
        self.config_path.write_text(render_config(self.options) + _stay_as_current_user(self.options))
        log_file = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.process = subprocess.Popen(
            [binary, "-c", str(self.config_path)], stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=self.options.own_session,
        )
        log_file.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited at start: {self.log_path.read_text(errors='replace')[-2000:]}"
                )
            try:
                with socket.create_connection((self.options.bind, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)  # polling a port that is about to open
        raise RuntimeError(f"mosquitto did not listen on port {self.port} within {timeout} s")

    def stop(self) -> None:
        """A clean stop: Mosquitto saves its persistence file first."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """A crash: whatever was not yet saved is gone."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def reload(self) -> None:
        """SIGHUP: Mosquitto rereads its password and ACL files, keeping connections."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGHUP)

    def restart(self) -> None:
        self.stop()
        self.start()

    def save(self, timeout: float = 10.0) -> None:
        """Make Mosquitto write its state now (SIGUSR1) and wait for the file to be replaced;
        raises when it cannot write its data directory, so persistence is never silently off."""
        if not self.process or self.process.poll() is not None:
            raise RuntimeError("mosquitto is not running")
        before = _modified(self.persistence_path)
        self.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while _modified(self.persistence_path) == before:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"mosquitto did not write {self.persistence_path} within {timeout} s: "
                    f"{self.log_path.read_text(errors='replace')[-500:]}"
                )
            time.sleep(0.02)  # polling for a file another process writes


def _stay_as_current_user(options: BrokerOptions) -> str:
    """As root, Mosquitto drops to the `mosquitto` user, who cannot write a data directory
    root made (a test's or the demo's): it would log `Permission denied` every save and keep
    nothing. A broker we start runs as whoever starts it; as an ordinary user the line is
    ignored. (systemd starts the production broker as its own user, without this line.)"""
    if os.geteuid() != 0 or any(line.split()[:1] == ["user"] for line in options.extra_lines):
        return ""
    return f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"


def _modified(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
