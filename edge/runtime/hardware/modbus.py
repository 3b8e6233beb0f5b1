"""An RS-485 keypad polled over Modbus RTU (pymodbus 3.12, pyserial).

Two register layouts, chosen by `registers.mode` (the default map is in docs/keypads.md):

- latch (default): a press counter and the code of the last key. A new press is
  a change of the counter, so a tap shorter than a poll is never missed, and a
  poll that failed is simply caught up by the next one.
- bitmap: one bit per key, the current level; our `Debouncer` makes presses and holds.

Failures (timeout, CRC error -- pymodbus drops a frame with a bad CRC, so it
arrives here as a timeout -- or a port that vanished) are retried by pymodbus
(`retries`), then poll after poll. After `fault_after` failed polls in a row one
FAULT is reported, and the keypad is re-synchronised on the first good read
afterwards without delivering anything: whatever changed while it was
unreachable is reported MISSED, never turned into a late, phantom press.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from edge.runtime.hardware.debounce import Debouncer
from edge.runtime.hardware.keys import KeyEventKind, KeyPress, mono_ms
from edge.runtime.hardware.settings import ModbusKeypadSettings
from edge.runtime.hardware.threaded import ThreadedKeypad

log = logging.getLogger(__name__)

COUNTER_MODULO = 65536
RESET_JUMP = 256
"""A counter that moved more than this between two good polls was reset (keypad rebooted)."""


class ModbusReadError(Exception):
    """A poll that got no usable answer."""


class ModbusKeypad(ThreadedKeypad):
    """Polls one Modbus RTU keypad in its own thread and delivers its presses."""

    thread_role = "poll"

    def __init__(self, settings: ModbusKeypadSettings, *, source: str = "modbus",
                 client: Any = None, clock: Callable[[], int] = mono_ms) -> None:
        super().__init__(source)
        self.settings = settings
        self._clock = clock
        self._failures = 0
        self._counter: int | None = None  # None: not synchronised (start, after a fault)
        self._counter_before_fault: int | None = None
        self._bits: int | None = None
        self._debouncer = Debouncer(self._deliver, self.events, bounce_ms=settings.bounce_ms,
                                    hold_ms=settings.hold_ms, mode=settings.debounce_mode, source=source)
        # pymodbus logs every failed request; we report a fault once, so keep only its criticals.
        logging.getLogger("pymodbus.logging").setLevel(logging.CRITICAL)
        self.client = client if client is not None else self._make_client()
        if not self.client.connect():
            raise ModbusReadError(f"cannot open serial port {settings.port}")

    def _make_client(self) -> Any:
        from pymodbus.client import ModbusSerialClient
        from pymodbus.framer import FramerType

        s = self.settings
        return ModbusSerialClient(
            s.port, framer=FramerType.RTU, baudrate=s.baudrate, bytesize=s.bytesize,
            parity=s.parity, stopbits=s.stopbits, timeout=s.timeout_s, retries=s.retries,
            name=self.source,
        )

    def _release(self) -> None:
        # A poll in progress may wait out every retry of its request before it sees the stop.
        self._join(5 * (self.settings.timeout_s * (self.settings.retries + 1) + 1))
        self.client.close()

    # --- polling -----------------------------------------------------------

    def _run(self) -> None:
        interval = self.settings.poll_ms / 1000
        while not self._stop.is_set():
            self.poll()
            # While faulted, poll slowly: a pulled cable needs no 20 timeouts a second.
            self._stop.wait(max(interval, 1.0) if self.events.faulted else interval)

    def poll(self) -> None:
        """One poll: read the registers, deliver what changed, account for failures."""
        try:
            if self.settings.registers.mode == "latch":
                counter, code = self._read_latch()
                self._on_latch(counter, code)
            else:
                self._on_bitmap(self._read_registers(self.settings.registers.state, 1)[0])
        except ModbusReadError as exc:
            self._failed(str(exc))
            return
        self._failures = 0
        self.events.recovered()

    def _failed(self, detail: str) -> None:
        self._failures += 1
        if self._failures == 1:
            log.debug("keypad %s poll failed: %s", self.source, detail)
        if self._failures >= self.settings.fault_after:
            if self.events.fault(f"{self._failures} polls failed: {detail}"):
                # Re-synchronise on the next good read: nothing from the outage is delivered.
                self._counter_before_fault, self._counter = self._counter, None
                self._bits = None
            if not self.client.connected:
                self.client.connect()  # a USB adapter plugged back in gets a new handle

    def _read_registers(self, address: int, count: int) -> list[int]:
        from pymodbus.exceptions import ModbusException

        s = self.settings
        read = (self.client.read_input_registers if s.registers.table == "input"
                else self.client.read_holding_registers)
        try:
            response = read(address, count=count, device_id=s.device_id)
        except ModbusException as exc:
            raise ModbusReadError(str(exc)) from exc
        except (OSError, ValueError) as exc:  # the port itself failed (adapter unplugged)
            self.client.close()
            raise ModbusReadError(f"serial port: {exc}") from exc
        if response.isError():
            raise ModbusReadError(f"keypad answered with an error: {response}")
        registers = list(response.registers)
        if len(registers) < count:
            raise ModbusReadError(f"short answer: {len(registers)} of {count} registers")
        return registers[:count]

    def _read_latch(self) -> tuple[int, int]:
        regs = self.settings.registers
        low = min(regs.counter, regs.key_code)
        span = abs(regs.counter - regs.key_code) + 1
        if span <= 8:  # adjacent enough: one request instead of two
            values = self._read_registers(low, span)
            return values[regs.counter - low], values[regs.key_code - low]
        return (self._read_registers(regs.counter, 1)[0], self._read_registers(regs.key_code, 1)[0])

    def _on_latch(self, counter: int, code: int) -> None:
        now = self._clock()
        previous, self._counter = self._counter, counter
        if previous is None:
            # Synchronising: what the counter says now happened before we were listening.
            before, self._counter_before_fault = self._counter_before_fault, None
            if before is not None and before != counter:
                self.events.emit(KeyEventKind.MISSED, at_mono_ms=now,
                                 detail=f"{(counter - before) % COUNTER_MODULO} press(es) while unreachable")
            return
        delta = (counter - previous) % COUNTER_MODULO
        if delta == 0:
            return
        if delta > RESET_JUMP:
            self.events.emit(KeyEventKind.MISSED, detail=f"press counter jumped {previous}->{counter}; "
                             "keypad restarted?", at_mono_ms=now)
            return
        if delta > 1:
            self.events.emit(KeyEventKind.MISSED, detail=f"{delta - 1} earlier press(es) between polls",
                             at_mono_ms=now)
        key = self.settings.keys.get(code)
        if key is None:
            self.events.emit(KeyEventKind.UNKNOWN_KEY, detail=f"code {code}", at_mono_ms=now)
            return
        self._deliver(KeyPress(key, now, None, self.source))

    def _on_bitmap(self, bits: int) -> None:
        now = self._clock()
        previous, self._bits = self._bits, bits
        for bit, key in self.settings.keys.items():
            level = bool(bits >> bit & 1)
            if previous is None:
                self._debouncer.baseline(key, level)
            elif level != bool(previous >> bit & 1):
                self._debouncer.edge(key, level, now)
        if previous is not None:
            unknown = (bits & ~previous) & ~sum(1 << bit for bit in self.settings.keys)
            if unknown:
                self.events.emit(KeyEventKind.UNKNOWN_KEY, detail=f"bits {unknown:#06x}", at_mono_ms=now)
        self._debouncer.tick(now)
