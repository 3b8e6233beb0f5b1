"""Running a Mosquitto broker: the hall's broker on a gateway, and the one the demo and tests start."""

from __future__ import annotations

import logging
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


def render_config(options: BrokerOptions) -> str:
    """A mosquitto.conf for store-and-forward: persistent sessions, generous queues."""
    lines = [
        f"listener {options.port} {options.bind}",
        "persistence true",
        f"persistence_location {options.data_dir}/",
        "autosave_interval 1",
        # A gateway or central away for hours must find its queue intact.
        "max_queued_messages 0",
        "max_queued_bytes 0",
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

    def start(self, timeout: float = 10.0) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise RuntimeError("mosquitto is not installed: run 'make setup' (apt-get install mosquitto)")
        self.config_path.write_text(render_config(self.options))
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
