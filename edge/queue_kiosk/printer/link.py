"""Talking to the ticket printer through python-escpos backends, with short explicit timeouts.

python-escpos opens USB, serial, network (port 9100) and file printers; we
use its backend objects for the connection and the writes, and read status
replies ourselves: its `_read()` waits for 16 bytes (a serial port then
blocks for its whole timeout) or, on USB, has no timeout at all, and its
`paper_status()` reports "plenty of paper" when nobody answers.

A link is opened lazily and reopened after any failure, so a printer that
was unplugged and plugged back is found again without a restart.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import Any, Protocol

from contract.events.queue import PrinterState
from edge.queue_kiosk.config import PrinterKind, PrinterSettings
from edge.queue_kiosk.printer.status import QUERIES, PrinterHealth, decode, is_status_byte, query

log = logging.getLogger(__name__)


class PrinterUnavailable(Exception):
    """The bytes could not be handed to the printer (unplugged, switched off, timed out)."""


class PrinterLink(Protocol):
    def write(self, data: bytes) -> None:
        """Hand a whole ticket to the printer; raises PrinterUnavailable."""
        ...

    def health(self) -> PrinterHealth:
        """Ask the printer now; never blocks longer than the configured timeouts."""
        ...

    def close(self) -> None: ...


class EscposLink:
    """One python-escpos backend chosen by configuration."""

    def __init__(self, settings: PrinterSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._printer: Any = None

    # --- the backend -----------------------------------------------------

    def _make(self) -> Any:
        s = self.settings
        io_s = s.io_timeout_ms / 1000
        if s.kind is PrinterKind.NETWORK:
            from escpos.printer import Network

            return Network(s.host, s.port, timeout=io_s)
        if s.kind is PrinterKind.SERIAL:
            from escpos.printer import Serial

            return Serial(s.serial_device, baudrate=s.baudrate, timeout=io_s)
        if s.kind is PrinterKind.USB:
            from escpos.printer import Usb

            return Usb(s.usb_vendor, s.usb_product, timeout=s.io_timeout_ms,
                       in_ep=s.usb_in_ep, out_ep=s.usb_out_ep)
        from escpos.printer import File

        return File(str(s.file_path))

    def _open(self) -> Any:
        if self._printer is None:
            printer = self._make()
            try:
                printer.open()
            except Exception as exc:  # escpos wraps every backend's failure differently
                raise PrinterUnavailable(f"cannot open the {self.settings.kind} printer: {exc}") from exc
            if printer.device is None:
                raise PrinterUnavailable(f"the {self.settings.kind} printer is not there")
            if self.settings.kind is PrinterKind.NETWORK:
                # Small writes (status queries) must leave now, not wait on Nagle for an ACK.
                printer.device.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._printer = printer
        return self._printer

    def _drop(self) -> None:
        printer, self._printer = self._printer, None
        if printer is not None:
            with contextlib.suppress(Exception):
                printer.close()

    def close(self) -> None:
        with self._lock:
            self._drop()

    # --- writing ---------------------------------------------------------

    def write(self, data: bytes) -> None:
        with self._lock:
            try:
                printer = self._open()
                self._set_timeout(printer, self.settings.io_timeout_ms / 1000)
                printer._raw(data)
                flush = getattr(printer, "flush", None)
                if callable(flush):
                    flush()
            except PrinterUnavailable:
                self._drop()
                raise
            except Exception as exc:
                self._drop()
                raise PrinterUnavailable(f"writing to the printer failed: {exc}") from exc

    # --- real-time status ------------------------------------------------

    def health(self) -> PrinterHealth:
        if not self.settings.status_query or self.settings.kind is PrinterKind.FILE:
            return PrinterHealth(PrinterState.UNKNOWN, "this printer is not asked for its status")
        with self._lock:
            try:
                printer = self._open()
                return decode(self._ask(printer))
            except PrinterUnavailable as exc:
                self._drop()
                return PrinterHealth(PrinterState.OFFLINE, str(exc))
            except Exception as exc:
                self._drop()
                return PrinterHealth(PrinterState.OFFLINE, f"status query failed: {exc}")

    def _ask(self, printer: Any) -> dict[int, int | None]:
        """Send the four DLE EOT queries at once and collect one byte each, within one deadline."""
        self._discard_input(printer)
        self._set_timeout(printer, self.settings.io_timeout_ms / 1000)
        printer._raw(b"".join(query(n) for n in QUERIES))
        replies: dict[int, int | None] = dict.fromkeys(QUERIES)
        deadline = time.monotonic() + self.settings.status_timeout_ms / 1000
        received = bytearray()
        while len(received) < len(QUERIES):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            chunk = self._read(printer, left)
            if chunk is None:
                raise PrinterUnavailable("the printer closed the connection")
            received += bytes(b for b in chunk if is_status_byte(b))
        for n, value in zip(QUERIES, received, strict=False):
            replies[n] = value
        return replies

    def _read(self, printer: Any, timeout_s: float) -> bytes | None:
        """Up to a few bytes within `timeout_s`: b'' on timeout, None when the link is closed."""
        device = printer.device
        kind = self.settings.kind
        if kind is PrinterKind.NETWORK:
            device.settimeout(max(timeout_s, 0.001))
            try:
                data = device.recv(16)
            except TimeoutError:
                return b""
            return data if data else None
        if kind is PrinterKind.SERIAL:
            device.timeout = max(timeout_s, 0.001)
            return bytes(device.read(1))
        if kind is PrinterKind.USB:
            import usb.core

            try:
                return bytes(device.read(self.settings.usb_in_ep, 16, max(1, int(timeout_s * 1000))))
            except usb.core.USBTimeoutError:
                return b""
        return b""

    def _discard_input(self, printer: Any) -> None:
        """Bytes still waiting (a late reply, an automatic status) would be taken for answers."""
        device = printer.device
        if self.settings.kind is PrinterKind.NETWORK:
            device.settimeout(0)
            with contextlib.suppress(BlockingIOError, InterruptedError, TimeoutError):
                while True:
                    data = device.recv(4096)
                    if not data:
                        raise PrinterUnavailable("the printer closed the connection")
        elif self.settings.kind is PrinterKind.SERIAL:
            device.reset_input_buffer()

    def _set_timeout(self, printer: Any, timeout_s: float) -> None:
        device = printer.device
        if self.settings.kind is PrinterKind.NETWORK and isinstance(device, socket.socket):
            device.settimeout(timeout_s)
        elif self.settings.kind is PrinterKind.SERIAL:
            device.write_timeout = timeout_s


def open_link(settings: PrinterSettings) -> PrinterLink:
    return EscposLink(settings)
