"""A thermal printer on a TCP port (like a real one on 9100): records bytes, answers DLE EOT.

Shipped in the package (like gpiozero's mock pins) for tests, the demo and the
benchmark. Drive its faults by hand: `paper_out`, `cover_open`, `near_end`,
`cutter_error`, `mute` (connected but silent, like a hung printer),
`hang_on_ticket` (answers until a ticket arrives, then never again: `hung`),
`reset_on_ticket` (answers "ready", then resets the connection as the ticket
arrives), `restart()` (every open connection closed, as a printer that
rebooted), and `unplug()` / `plug()` (connection refused, then back on the same
port). `nagle=True` keeps Nagle on, as a printer's embedded TCP stack does;
`held_replies` counts the status replies it then had to hold back for an ACK.
"""

from __future__ import annotations

import contextlib
import fcntl
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge.queue_kiosk.printer.status import encode
from edge.queue_kiosk.printer.stream import Kind, Parser, Token


@dataclass
class PrintedJob:
    """One ticket as the printer received it, up to and including its cut."""

    tokens: list[Token]
    raw: bytes
    finished_ns: int
    """time.monotonic_ns() when the cut's last byte arrived."""


class SimulatedPrinter:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, nagle: bool = False) -> None:
        """`nagle=True` behaves like a printer's embedded TCP stack: Nagle stays on, so a status
        reply written while an earlier one is unacknowledged waits for the host's (delayed) ACK."""
        self.host = host
        self.nagle = nagle
        self._requested_port = port
        self.port = 0
        self.paper_out = False
        self.cover_open = False
        self.near_end = False
        self.cutter_error = False
        self.mute = False
        self.hang_on_ticket = False
        self.hung = False
        self.reset_on_ticket = False
        self.raw = bytearray()
        self.jobs: list[PrintedJob] = []
        self.status_queries = 0
        self.held_replies = 0
        """Status replies that Nagle held back, waiting for the host to acknowledge an earlier one."""
        self._current: list[Token] = []
        self._current_raw = bytearray()
        self._lock = threading.Condition()
        self._server: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._running = False

    # --- life cycle ------------------------------------------------------

    def start(self) -> SimulatedPrinter:
        # create_server sets SO_REUSEADDR, so plug() gets the same port back at once.
        server = socket.create_server((self.host, self.port or self._requested_port))
        self.port = server.getsockname()[1]
        self._server = server
        self._running = True
        thread = threading.Thread(target=self._accept, args=(server,), daemon=True, name="sim-printer")
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self.unplug()

    def unplug(self) -> None:
        """The cable is pulled: every connection drops and new ones are refused."""
        self._running = False
        if self._server is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would leave
            # the listening socket alive until then, and the port busy.
            with contextlib.suppress(OSError):
                self._server.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                self._server.close()
            self._server = None
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()

    def plug(self) -> None:
        """Back on the same port."""
        if self._server is None:
            self.start()

    def restart(self) -> None:
        """The printer rebooted: every open connection is closed, new ones are taken at once."""
        with self._lock:
            connections, self._connections = self._connections, []
            self.hung = False
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def connection_count(self) -> int:
        with self._lock:
            return len(self._connections)

    # --- what was printed ------------------------------------------------

    def wait_for_jobs(self, count: int, timeout: float = 10.0) -> list[PrintedJob]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.jobs) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"printer got {len(self.jobs)} ticket(s), expected {count}")
                self._lock.wait(left)
            return list(self.jobs)

    def job_count(self) -> int:
        with self._lock:
            return len(self.jobs)

    # --- the printer -----------------------------------------------------

    def _status_reply(self, n: int) -> bytes:
        replies = encode(
            cover_open=self.cover_open, paper_out=self.paper_out, near_end=self.near_end,
            cutter_error=self.cutter_error,
        )
        return bytes([replies.get(n, 0x12)])

    def _accept(self, server: socket.socket) -> None:
        while self._running:
            try:
                conn, _addr = server.accept()
            except OSError:
                return
            if not self.nagle:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._connections.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True, name="sim-printer-conn")
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        def reply(data: bytes) -> None:
            conn.sendall(data)
            if self.nagle and _unsent_bytes(conn):
                self.held_replies += 1

        with contextlib.suppress(OSError):
            try:
                self.serve_stream(lambda: conn.recv(65536), reply)
            except _Reset:
                # SO_LINGER 0: close() sends RST, not FIN, as a printer whose stack gives up does.
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with self._lock:
            if conn in self._connections:
                self._connections.remove(conn)
        with contextlib.suppress(OSError):
            conn.close()

    def serve_stream(self, read: Callable[[], bytes | None], write: Callable[[bytes], Any]) -> None:
        """Be the printer on any byte stream (a socket, a serial port) until `read` returns b''.

        `read` returning None means "nothing yet" (a serial port's timeout) and is retried.
        """
        parser = Parser()
        while self._running:
            chunk = read()
            if chunk is None:
                continue
            if not chunk:
                return
            arrived = time.monotonic_ns()
            for token in parser.feed(chunk):
                if token.kind is Kind.STATUS_QUERY:
                    self.status_queries += 1
                    if not (self.mute or self.hung):
                        write(self._status_reply(token.raw[2]))
                    continue
                if self.reset_on_ticket:
                    raise _Reset
                self.hung = self.hung or self.hang_on_ticket
                self._take(token, arrived)

    def _take(self, token: Token, arrived_ns: int) -> None:
        with self._lock:
            self.raw += token.raw
            # A printer with its cover open or without paper prints nothing.
            if self.paper_out or self.cover_open:
                return
            self._current.append(token)
            self._current_raw += token.raw
            if token.kind is Kind.CUT:
                self.jobs.append(PrintedJob(self._current, bytes(self._current_raw), arrived_ns))
                self._current = []
                self._current_raw = bytearray()
                self._lock.notify_all()


class _Reset(Exception):
    """`reset_on_ticket`: drop this connection with a reset."""


SIOCOUTQNSD = 0x894B
"""Linux ioctl: bytes in a TCP socket's send queue not yet sent (held by Nagle or the window)."""


def _unsent_bytes(conn: socket.socket) -> int:
    return int(struct.unpack("i", fcntl.ioctl(conn.fileno(), SIOCOUTQNSD, b"\0\0\0\0"))[0])


class SerialSimulatedPrinter(SimulatedPrinter):
    """The same printer on a serial port: one end of a `socat` pseudo-terminal pair."""

    def __init__(self, device: str, baudrate: int = 9600) -> None:
        super().__init__()
        self.device = device
        self.baudrate = baudrate
        self._serial: Any = None

    def start(self) -> SerialSimulatedPrinter:
        import serial

        self._serial = serial.Serial(self.device, self.baudrate, timeout=0.05)
        self._running = True
        port = self._serial

        def read() -> bytes | None:
            try:
                return port.read(4096) or None
            except (OSError, serial.SerialException, TypeError):
                return b""  # closed by stop()

        thread = threading.Thread(target=self.serve_stream, args=(read, port.write), daemon=True,
                                  name="sim-serial-printer")
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._running = False
        for thread in self._threads:
            thread.join(timeout=2)
        if self._serial is not None:
            self._serial.close()
