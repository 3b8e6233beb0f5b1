"""Decoding ESC/POS real-time status (DLE EOT n) into one health verdict. Pure.

Epson's layout, followed by most thermal printers sold in China:
- n=1 printer status: bit 3 set = offline.
- n=2 offline cause: bit 2 cover open, bit 3 feed button held, bit 5 stopped
  for paper end, bit 6 an error occurred.
- n=3 error cause: bit 3 auto-cutter error, bit 5 unrecoverable, bit 6 auto-recoverable.
- n=4 paper roll sensor: bits 2-3 paper near end, bits 5-6 paper end.
Every reply byte has bit 1 and bit 4 set and bits 0 and 7 clear; anything
else is not a status reply (stale data, a confused printer) and is refused.
python-escpos's `paper_status()` says "plenty of paper" when the printer does
not answer; here silence is OFFLINE, never READY.
"""

from __future__ import annotations

from dataclasses import dataclass

from contract.events.queue import PrinterState

DLE_EOT = b"\x10\x04"
QUERIES = (1, 2, 3, 4)


def query(n: int) -> bytes:
    return DLE_EOT + bytes([n])


def is_status_byte(value: int) -> bool:
    return value & 0b1001_0011 == 0b0001_0010


@dataclass(frozen=True)
class PrinterHealth:
    state: PrinterState
    detail: str = ""

    @property
    def printable(self) -> bool:
        """A ticket may be issued: the printer will put it on paper."""
        return self.state in (PrinterState.READY, PrinterState.NEAR_END, PrinterState.UNKNOWN)


READY = PrinterHealth(PrinterState.READY)

VERDICTS: tuple[tuple[int, int, PrinterState, str], ...] = (
    # (DLE EOT n, bits of its reply, verdict, detail): the first whose bits are set wins,
    # so a printer with its cover open and its paper out is reported "cover open".
    (2, 0x04, PrinterState.COVER_OPEN, "cover open"),
    (4, 0x60, PrinterState.PAPER_OUT, "paper out"),
    (2, 0x20, PrinterState.PAPER_OUT, "paper out"),
    (3, 0x08, PrinterState.ERROR, "auto-cutter error"),
    (3, 0x20, PrinterState.ERROR, "unrecoverable error"),
    (3, 0x40, PrinterState.ERROR, "recoverable error (head temperature?)"),
    (2, 0x40, PrinterState.ERROR, "error"),
    (1, 0x08, PrinterState.OFFLINE, "printer reports offline"),
    (4, 0x0C, PrinterState.NEAR_END, "paper near end"),
)


def decode(replies: dict[int, int | None]) -> PrinterHealth:
    """Replies by query number (None = no reply within the timeout) -> health."""
    missing = [n for n in QUERIES if replies.get(n) is None]
    if missing:
        return PrinterHealth(PrinterState.OFFLINE, f"no reply to DLE EOT {missing[0]}")
    bad = [n for n in QUERIES if not is_status_byte(replies[n] or 0)]
    if bad:
        value = replies[bad[0]] or 0
        return PrinterHealth(PrinterState.OFFLINE, f"garbled reply {value:#04x} to DLE EOT {bad[0]}")
    for n, mask, state, detail in VERDICTS:
        if (replies[n] or 0) & mask:
            return PrinterHealth(state, detail)
    return READY


def encode(
    *, offline: bool = False, cover_open: bool = False, paper_out: bool = False,
    near_end: bool = False, cutter_error: bool = False,
) -> dict[int, int]:
    """The reply bytes a printer in this state sends (used by the simulator)."""
    base = 0b0001_0010
    printer = base | (0x08 if offline or cover_open or paper_out or cutter_error else 0)
    cause = base | (0x04 if cover_open else 0) | (0x20 if paper_out else 0) | (0x40 if cutter_error else 0)
    error = base | (0x08 if cutter_error else 0)
    paper = base | (0x60 if paper_out else 0) | (0x0C if near_end or paper_out else 0)
    return {1: printer, 2: cause, 3: error, 4: paper}
