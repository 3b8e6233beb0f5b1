"""An RS-485 keypad polled over Modbus RTU (pymodbus 3.12, pyserial).

Two register layouts, chosen by `registers.mode` (the default map is in docs/keypads.md):

- latch (default): a press counter and the code of the last key. A new press is
  a change of the counter, so a tap shorter than a poll is never missed, and a
  poll that failed is simply caught up by the next one.
- bitmap: one bit per key, the current level; our `Debouncer` makes presses and holds.

Failures (timeout, CRC error -- pymodbus drops a frame with a bad CRC, so it
arrives here as a timeout -- an exception reply, or a port that vanished) are
retried by pymodbus (`retries`, not for exception replies), then poll after
poll. After `fault_after` failed polls in a row one FAULT is reported, and the
keypad is re-synchronised on the first good read afterwards without
delivering anything: whatever changed while it was unreachable is reported
MISSED, never turned into a late, phantom press.

A press counter that goes back (or leaps more than `RESET_JUMP`) is the
keypad restarting, not presses: RESTARTED, counted apart from MISSED; only
presses counted since the restart are missed ones.

Prompts (`show`, with `registers.prompt` set) are written from the poll
thread, before the next read, with one FC 16 request: the prompt code, then its
seconds. The current prompt is written again after a fault and after a
restart. An exception reply to it means the keypad has no such registers: it
is logged once and not tried again until the next prompt.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from edge.runtime.hardware.debounce import Debouncer
from edge.runtime.hardware.keys import KeyEventKind, KeyPress, mono_ms
from edge.runtime.hardware.prompt import Showing
from edge.runtime.hardware.settings import ModbusKeypadSettings
from edge.runtime.hardware.threaded import ThreadedKeypad

log = logging.getLogger(__name__)

COUNTER_MODULO = 65536
RESET_JUMP = 256
"""A counter that moved more than this between two good polls (backwards included) was reset:
the keypad restarted."""


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
        self._showing: Showing | None = None
        self._prompt_due = False
        self._prompt_lock = threading.Lock()
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
        self._write_prompt()  # the last word (out of order) before the line is closed
        self.client.close()

    # --- prompts -----------------------------------------------------------

    def show(self, showing: Showing) -> None:
        """Write `showing` to the prompt registers before the next poll (none configured: nothing)."""
        if self.settings.registers.prompt is None:
            return
        with self._prompt_lock:
            self._showing, self._prompt_due = showing, True

    def _prompt_again(self) -> None:
        with self._prompt_lock:
            self._prompt_due = self._showing is not None

    def _write_prompt(self) -> None:
        address = self.settings.registers.prompt
        with self._prompt_lock:
            showing = self._showing
            if not self._prompt_due or showing is None or address is None or self.events.faulted:
                return
            self._prompt_due = False
        from pymodbus.exceptions import ModbusException

        try:
            response = self.client.write_registers(address, [int(showing.prompt), showing.seconds],
                                                   device_id=self.settings.device_id)
        except (ModbusException, OSError, ValueError) as exc:
            log.debug("keypad %s: prompt not written yet: %s", self.source, exc)
            with self._prompt_lock:  # the reads decide about faults; tried again next poll
                self._prompt_due = self._prompt_due or self._showing is showing
            return
        if response.isError():
            log.warning("keypad %s refused the prompt registers at %d (%s): it shows no prompts",
                        self.source, address, response)

    # --- polling -----------------------------------------------------------

    def _run(self) -> None:
        interval = self.settings.poll_ms / 1000
        while not self._stop.is_set():
            self.poll()
            # While faulted, poll slowly: a pulled cable needs no 20 timeouts a second.
            self._stop.wait(max(interval, 1.0) if self.events.faulted else interval)

    def poll(self) -> None:
        """One poll: a prompt that is due, then read the registers, deliver what changed, account
        for failures."""
        self._write_prompt()
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
        if self.events.recovered():
            self._prompt_again()  # it may have lost power with the cable

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
                self._moved_while_away(before, counter, now)
            return
        delta = (counter - previous) % COUNTER_MODULO
        if delta == 0:
            return
        if delta > RESET_JUMP:
            self._restarted(previous, counter, now)
            return
        if delta > 1:
            self.events.emit(KeyEventKind.MISSED, detail=f"{delta - 1} earlier press(es) between polls",
                             at_mono_ms=now)
        key = self.settings.keys.get(code)
        if key is None:
            self.events.emit(KeyEventKind.UNKNOWN_KEY, detail=f"code {code}", at_mono_ms=now)
            return
        self._deliver(KeyPress(key, now, None, self.source))

    def _moved_while_away(self, before: int, counter: int, now: int) -> None:
        delta = (counter - before) % COUNTER_MODULO
        if delta > RESET_JUMP:
            self._restarted(before, counter, now, " while unreachable")
        else:
            self.events.emit(KeyEventKind.MISSED, at_mono_ms=now,
                             detail=f"{delta} press(es) while unreachable")

    def _restarted(self, before: int, counter: int, now: int, when: str = "") -> None:
        """The counter went back (or leapt): a restart. Presses counted since it are missed ones;
        the restart itself is no press and no loss."""
        self.events.emit(KeyEventKind.RESTARTED, at_mono_ms=now,
                         detail=f"press counter went from {before} to {counter}{when}")
        if counter < before and 0 < counter <= RESET_JUMP:
            self.events.emit(KeyEventKind.MISSED, at_mono_ms=now,
                             detail=f"{counter} press(es) since the keypad restarted")
        self._prompt_again()  # a restarted keypad shows its default

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
