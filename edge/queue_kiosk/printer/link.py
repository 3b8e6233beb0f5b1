"""Talking to the ticket printer through python-escpos backends, with short explicit timeouts.

python-escpos opens USB, serial, network (port 9100) and file printers; we
use its backend objects for the connection and the writes, and read status
replies ourselves: its `_read()` waits for 16 bytes (a serial port then
blocks for its whole timeout) or, on USB, has no timeout at all, and its
`paper_status()` reports "plenty of paper" when nobody answers.

One status request is in flight at a time. A printer's embedded TCP stack
keeps Nagle on: asked four questions at once, it sends the first answer and
holds the other three until that one is acknowledged, and the kiosk's kernel
delays that ACK by 40 ms. Asking one question after the other, each question
carries the ACK of the previous answer, so no answer ever waits for one.

A ticket is confirmed printed by a status reply after its cut (`print_ticket`):
the reply proves the printer took every byte before it, and says whether it
still could print.

A link is opened lazily and reopened after any failure, so a printer that
was unplugged and plugged back is found again without a restart. A kept
connection the printer closed meanwhile (it rebooted) is reopened once within
the same request, so the press that finds it closed still gets its ticket.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from contract.events.queue import PrinterState
from edge.queue_kiosk.config import PrinterKind, PrinterSettings
from edge.queue_kiosk.printer.status import QUERIES, PrinterHealth, decode, is_status_byte, query

log = logging.getLogger(__name__)
Answer = TypeVar("Answer")


class PrinterUnavailable(Exception):
    """The bytes could not be handed to the printer (unplugged, switched off, timed out)."""


class PrinterClosed(PrinterUnavailable):
    """The printer closed or reset the connection (it rebooted, or dropped us mid-ticket)."""


class PrinterLink(Protocol):
    def print_ticket(self, data: bytes) -> PrinterHealth:
        """Hand a whole ticket to the printer, then ask its status: the health after the cut.

        Raises PrinterUnavailable when the bytes could not all be handed over or the
        connection broke; a reply that never came is an OFFLINE health (not confirmed).
        """
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

    @property
    def _asks_status(self) -> bool:
        return self.settings.status_query and self.settings.kind is not PrinterKind.FILE

    def _on_kept_link(self, exchange: Callable[[Any], Answer]) -> Answer:
        """`exchange(printer)`, once more on a new connection if a kept one turns out closed."""
        kept = self._printer is not None
        try:
            return exchange(self._open())
        except PrinterClosed:
            self._drop()
            if not kept:
                raise
            log.info("the %s printer had closed the connection (restarted?): reconnecting",
                     self.settings.kind)
            return exchange(self._open())

    # --- tickets ---------------------------------------------------------

    def print_ticket(self, data: bytes) -> PrinterHealth:
        with self._lock:
            try:
                printer = self._open()
                self._send(printer, data)
                if not self._asks_status:
                    return PrinterHealth(PrinterState.UNKNOWN,
                                         "written; this printer is not asked for its status")
                return decode(self._ask(printer, self.settings.confirm_timeout_ms))
            except PrinterUnavailable:
                self._drop()
                raise
            except Exception as exc:
                self._drop()
                raise PrinterUnavailable(f"writing to the printer failed: {exc}") from exc

    # --- real-time status ------------------------------------------------

    def health(self) -> PrinterHealth:
        if not self._asks_status:
            return PrinterHealth(PrinterState.UNKNOWN, "this printer is not asked for its status")
        with self._lock:
            try:
                return decode(self._on_kept_link(
                    lambda printer: self._ask(printer, self.settings.status_timeout_ms)))
            except PrinterUnavailable as exc:
                self._drop()
                return PrinterHealth(PrinterState.OFFLINE, str(exc))
            except Exception as exc:
                self._drop()
                return PrinterHealth(PrinterState.OFFLINE, f"status query failed: {exc}")

    def _ask(self, printer: Any, timeout_ms: int) -> dict[int, int | None]:
        """The four DLE EOT queries one after the other, each answered before the next, within
        one deadline. Silence ends the round: the questions after it would wait in vain too."""
        deadline = time.monotonic() + timeout_ms / 1000
        replies: dict[int, int | None] = dict.fromkeys(QUERIES)
        for n in QUERIES:
            self._discard_input(printer)
            self._send(printer, query(n))
            replies[n] = self._reply(printer, deadline)
            if replies[n] is None:
                break
        return replies

    def _reply(self, printer: Any, deadline: float) -> int | None:
        """The next status byte before `deadline` (other bytes are skipped), None on silence."""
        while (left := deadline - time.monotonic()) > 0:
            try:
                chunk = self._read(printer, left)
            except OSError as exc:  # reset by the peer, or a serial/USB device that vanished
                raise PrinterClosed(f"the printer dropped the connection: {exc}") from exc
            if chunk is None:
                raise PrinterClosed("the printer closed the connection")
            for byte in chunk:
                if is_status_byte(byte):
                    return byte
        return None

    def _send(self, printer: Any, data: bytes) -> None:
        self._set_timeout(printer, self.settings.io_timeout_ms / 1000)
        try:
            printer._raw(data)
        except (ConnectionError, BrokenPipeError) as exc:
            raise PrinterClosed(f"the printer dropped the connection: {exc}") from exc
        flush = getattr(printer, "flush", None)
        if callable(flush):
            flush()

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
                    try:
                        data = device.recv(4096)
                    except ConnectionError as exc:
                        raise PrinterClosed(f"the printer dropped the connection: {exc}") from exc
                    if not data:
                        raise PrinterClosed("the printer closed the connection")
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
