"""Window evaluators and callers speaking the framed serial protocol common in Chinese halls.

A frame (documented in docs/keypads.md):

    FF 68 LEN LEN 68 ADDR FUNC DATA... CS 16

- `FF` a wake-up preamble (optional on receive; always sent),
- `LEN` twice: the number of bytes ADDR + FUNC + DATA, i.e. 2 + len(DATA),
- `CS` = (ADDR + FUNC + sum(DATA)) mod 256,
- `16` the end byte.

A key press is a frame with FUNC = `key_function` and DATA[0] = the key code.
The host acknowledges every good frame by echoing it back byte for byte; a
device that gets no echo sends the frame again, so the same key frame inside
`repeat_window_ms` is a retransmission (REPEAT), never a second press. Frames
with a bad checksum are not echoed (the device retries) and are reported
BAD_FRAME. The codec here is pure; pyserial is imported by the adapter only.

The other way, a prompt frame (FUNC = `prompt_function`, DATA = prompt code,
seconds; `edge.runtime.hardware.prompt`) tells the device what its screen or
LEDs should show. The device acknowledges it the same way, by echoing it; one
not echoed within `prompt_echo_ms` is sent again, `prompt_retries` times. The
current prompt is sent again whenever the port comes back.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from edge.runtime.hardware.keys import KeyEventKind, KeyPress, mono_ms
from edge.runtime.hardware.prompt import Showing
from edge.runtime.hardware.settings import FramedSerialKeypadSettings
from edge.runtime.hardware.threaded import ThreadedKeypad

log = logging.getLogger(__name__)

PREAMBLE = 0xFF
START = 0x68
END = 0x16
MAX_LEN = 250


@dataclass(frozen=True)
class Frame:
    address: int
    function: int
    data: bytes

    def encode(self) -> bytes:
        return encode_frame(self.address, self.function, self.data)


def checksum(address: int, function: int, data: bytes) -> int:
    return (address + function + sum(data)) % 256


def encode_frame(address: int, function: int, data: bytes = b"") -> bytes:
    length = 2 + len(data)
    if not (0 <= address <= 255 and 0 <= function <= 255) or length > MAX_LEN:
        raise ValueError("address/function out of range or data too long")
    return bytes([PREAMBLE, START, length, length, START, address, function, *data,
                  checksum(address, function, data), END])


@dataclass(frozen=True)
class BadFrame:
    """Bytes that looked like a frame but were not one: why, and the bytes skipped."""

    reason: str
    raw: bytes


class FrameParser:
    """Finds frames in a byte stream that may hold noise, partial frames and preambles.

    Noise between frames is gathered and reported as one BadFrame before the next
    frame (or once 64 bytes have piled up), not once per read.
    """

    NOISE_REPORT_BYTES = 64

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._noise = bytearray()

    def reset(self) -> None:
        self._buffer.clear()
        self._noise.clear()

    def feed(self, data: bytes) -> Iterator[Frame | BadFrame]:
        self._buffer.extend(data)
        while True:
            item = self._next()
            if item is None:
                if len(self._noise) >= self.NOISE_REPORT_BYTES:
                    yield self._take_noise()
                return
            if self._noise:
                yield self._take_noise()
            yield item

    def _take_noise(self) -> BadFrame:
        noise = BadFrame("noise", bytes(self._noise))
        self._noise.clear()
        return noise

    def _skip(self, count: int) -> None:
        self._noise.extend(b for b in self._buffer[:count] if b != PREAMBLE)
        del self._buffer[:count]

    def _next(self) -> Frame | BadFrame | None:
        buf = self._buffer
        while buf:
            start = buf.find(START)
            if start < 0:
                self._skip(len(buf))
                return None
            self._skip(start)
            if len(buf) < 4:
                return None
            length = buf[1]
            if buf[2] != length or buf[3] != START or not 2 <= length <= MAX_LEN:
                self._skip(1)  # not a header after all; look for the next 0x68
                continue
            total = 4 + length + 2
            if len(buf) < total:
                return None
            raw = bytes(buf[:total])
            address, function, payload = raw[4], raw[5], raw[6:4 + length]
            if raw[-1] != END:
                self._skip(1)
                continue
            del buf[:total]
            if checksum(address, function, payload) != raw[-2]:
                return BadFrame("checksum", raw)
            return Frame(address, function, payload)
        return None


class FramedSerialKeypad(ThreadedKeypad):
    """A framed-protocol evaluator on a serial port: key frames in, echoes out."""

    thread_role = "serial"

    def __init__(self, settings: FramedSerialKeypadSettings, *, source: str = "framed",
                 clock: Callable[[], int] = mono_ms) -> None:
        import serial  # imported here so the package loads without pyserial

        super().__init__(source)
        self._serial_module = serial
        self.settings = settings
        self._clock = clock
        self._parser = FrameParser()
        self._write_lock = threading.Lock()
        self._last_key_frame: tuple[bytes, int] | None = None
        self._showing: Showing | None = None
        self._unechoed: tuple[Frame, int, int] | None = None
        """The prompt frame awaiting its echo: (frame, sent at, times sent again)."""
        self._prompt_lock = threading.Lock()
        self._port: Any = self._open()  # fail at start-up if the port is not there

    def _open(self) -> Any:
        s = self.settings
        return self._serial_module.serial_for_url(
            s.port, baudrate=s.baudrate, parity=s.parity, stopbits=s.stopbits, timeout=0.1,
        )

    def _release(self) -> None:
        self._join(5)
        if self._port is not None:
            self._port.close()

    def send(self, function: int, data: bytes = b"") -> None:
        """A frame to the device (a display text, an LED), at the configured address."""
        frame = encode_frame(self.settings.address or 0, function, data)
        self._write(frame)

    # --- prompts -----------------------------------------------------------

    def show(self, showing: Showing) -> None:
        """Tell the device what to show; sent now, again until echoed (see the module docstring)."""
        function = self.settings.prompt_function
        if function is None:
            return
        frame = Frame(self.settings.address or 0, function, bytes([showing.prompt, showing.seconds]))
        with self._prompt_lock:
            self._showing = showing
            self._unechoed = (frame, self._clock(), 0)
        self._write(frame.encode())

    def _resend_prompt(self) -> None:
        """Called by the reader between reads: a prompt whose echo is overdue goes out again."""
        with self._prompt_lock:
            if self._unechoed is None:
                return
            frame, sent_at, resent = self._unechoed
            if self._clock() - sent_at < self.settings.prompt_echo_ms:
                return
            if resent >= self.settings.prompt_retries:
                self._unechoed = None
                log.debug("keypad %s never echoed prompt %s", self.source, frame.data.hex(" "))
                return
            self._unechoed = (frame, self._clock(), resent + 1)
        self._write(frame.encode())

    def _echoed(self, frame: Frame) -> bool:
        """A frame with the prompt function is the device's echo of ours, never a key."""
        if self.settings.prompt_function is None or frame.function != self.settings.prompt_function:
            return False
        with self._prompt_lock:
            if self._unechoed is not None and self._unechoed[0] == frame:
                self._unechoed = None
        return True

    # --- the line ----------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._port is None:
                try:
                    self._port = self._open()
                except (OSError, self._serial_module.SerialException) as exc:
                    log.debug("serial port %s still missing: %s", self.settings.port, exc)
                    self._stop.wait(self.settings.reopen_s)
                    continue
                self._parser.reset()
                self.events.recovered(f"{self.settings.port} open")
                if self._showing is not None:
                    self.show(self._showing)  # a device that lost power with the port shows nothing
            try:
                data = self._port.read(256)
            except (OSError, self._serial_module.SerialException) as exc:
                self._lost(str(exc))
                continue
            if data:
                self.receive(data)
            self._resend_prompt()

    def _lost(self, detail: str) -> None:
        self.events.fault(f"serial port {self.settings.port}: {detail}")
        with contextlib.suppress(Exception):  # closing a vanished port may fail too; it is gone
            self._port.close()
        self._port = None
        self._stop.wait(self.settings.reopen_s)

    def _write(self, data: bytes) -> None:
        port = self._port
        if port is None:
            return
        try:
            with self._write_lock:
                port.write(data)
        except (OSError, self._serial_module.SerialException) as exc:
            log.debug("write to %s failed: %s", self.settings.port, exc)

    def receive(self, data: bytes) -> None:
        """Bytes from the line: parse, acknowledge, deliver."""
        for item in self._parser.feed(data):
            if isinstance(item, BadFrame):
                self.events.emit(KeyEventKind.BAD_FRAME, detail=f"{item.reason}: {item.raw.hex(' ')}")
                continue
            self._on_frame(item)

    def _on_frame(self, frame: Frame) -> None:
        s = self.settings
        if s.address is not None and frame.address != s.address:
            return  # another evaluator on a shared bus: not ours to acknowledge
        if self._echoed(frame):
            return
        raw = frame.encode()
        self._write(raw)  # the acknowledgement is the echo
        now = self._clock()
        if frame.function != s.key_function or not frame.data:
            self.events.emit(KeyEventKind.UNKNOWN_KEY, at_mono_ms=now,
                             detail=f"function {frame.function:#04x} data {frame.data.hex(' ')}")
            return
        key = s.keys.get(frame.data[0])
        if self._last_key_frame is not None:
            last_raw, last_at = self._last_key_frame
            if last_raw == raw and now - last_at < s.repeat_window_ms:
                self._last_key_frame = (raw, now)
                self.events.emit(KeyEventKind.REPEAT, key=key, at_mono_ms=now,
                                 detail="retransmitted frame (echo lost?)")
                return
        self._last_key_frame = (raw, now)
        if key is None:
            self.events.emit(KeyEventKind.UNKNOWN_KEY, at_mono_ms=now, detail=f"code {frame.data[0]}")
            return
        self._deliver(KeyPress(key, now, None, self.source))
