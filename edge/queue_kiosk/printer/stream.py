"""Reading an ESC/POS byte stream the way a printer does: commands, text, QR data, raster images, cuts.

Used by the simulated printer (to answer real-time status queries without
mistaking image data for them) and by tests and the demo to check what a
ticket really says. It knows the commands our tickets and python-escpos use;
any other byte is text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10


class Kind(StrEnum):
    TEXT = "text"
    COMMAND = "command"
    STATUS_QUERY = "status_query"  # DLE EOT n: answered at once, not printed
    QR = "qr"  # GS ( k, function 180 (store data): `data` is the payload
    IMAGE = "image"  # GS v 0 raster: `data` is the bitmap, `width_bytes` x `height`
    CUT = "cut"


@dataclass(frozen=True)
class Token:
    kind: Kind
    raw: bytes
    data: bytes = b""
    width_bytes: int = 0
    height: int = 0


# Fixed lengths of the commands we meet, after the ESC / GS / FS byte.
_ESC_LENGTHS = {
    ord("@"): 2, ord("!"): 3, ord("E"): 3, ord("a"): 3, ord("t"): 3, ord("d"): 3, ord("-"): 3,
    ord("2"): 2, ord("3"): 3, ord("M"): 3, ord("{"): 3, ord("G"): 3, ord("J"): 3, ord("R"): 3,
    ord("p"): 5, ord("V"): 3, ord("c"): 4,
}
_GS_LENGTHS = {ord("!"): 3, ord("b"): 3, ord("B"): 3, ord("L"): 4, ord("W"): 4, ord("H"): 3,
               ord("f"): 3, ord("h"): 3, ord("w"): 3}
_FS_LENGTHS = {ord("&"): 2, ord("."): 2, ord("!"): 3, ord("C"): 3}


class Parser:
    """Incremental: feed bytes as they arrive, get whole tokens; an incomplete tail waits."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[Token]:
        self._buffer += chunk
        tokens: list[Token] = []
        pos = 0
        buf = self._buffer
        while pos < len(buf):
            size, token = _next(buf, pos)
            if size == 0:
                break  # wait for more bytes
            if token is not None:
                tokens.append(token)
            pos += size
        del self._buffer[:pos]
        return _merge_text(tokens)

    def flush(self) -> list[Token]:
        """Whatever incomplete tail is left, as text (the stream ended)."""
        tail = bytes(self._buffer)
        self._buffer.clear()
        return [Token(Kind.TEXT, tail, tail)] if tail else []


def parse(data: bytes) -> list[Token]:
    parser = Parser()
    return _merge_text(parser.feed(data) + parser.flush())


def _next(buf: bytearray, pos: int) -> tuple[int, Token | None]:
    """(bytes consumed, token); (0, None) when the command is not complete yet."""
    first = buf[pos]
    avail = len(buf) - pos
    if first == DLE:
        if avail < 3:
            return 0, None
        raw = bytes(buf[pos:pos + 3])
        kind = Kind.STATUS_QUERY if raw[1] == 0x04 else Kind.COMMAND
        return 3, Token(kind, raw)
    if first in (ESC, GS, FS):
        if avail < 2:
            return 0, None
        second = buf[pos + 1]
        if first == GS and second == ord("V"):
            if avail < 3:
                return 0, None
            size = 4 if buf[pos + 2] in (65, 66, 97, 98, 103, 104) else 3
            if avail < size:
                return 0, None
            return size, Token(Kind.CUT, bytes(buf[pos:pos + size]))
        if first == GS and second == ord("("):
            if avail < 5:
                return 0, None
            length = buf[pos + 3] | buf[pos + 4] << 8
            size = 5 + length
            if avail < size:
                return 0, None
            raw = bytes(buf[pos:pos + size])
            # GS ( k pL pH cn=49 fn=80 m=48 d...: store the QR symbol's data
            if raw[2] == ord("k") and length >= 3 and raw[5] == 49 and raw[6] == 80:
                return size, Token(Kind.QR, raw, raw[8:])
            return size, Token(Kind.COMMAND, raw)
        if first == GS and second == ord("v"):
            if avail < 8:
                return 0, None
            width = buf[pos + 4] | buf[pos + 5] << 8
            height = buf[pos + 6] | buf[pos + 7] << 8
            size = 8 + width * height
            if avail < size:
                return 0, None
            raw = bytes(buf[pos:pos + size])
            return size, Token(Kind.IMAGE, raw, raw[8:], width, height)
        table = {ESC: _ESC_LENGTHS, GS: _GS_LENGTHS, FS: _FS_LENGTHS}[first]
        size = table.get(second, 2)
        if avail < size:
            return 0, None
        return size, Token(Kind.COMMAND, bytes(buf[pos:pos + size]))
    end = pos
    while end < len(buf) and buf[end] not in (ESC, GS, FS, DLE):
        end += 1
    raw = bytes(buf[pos:end])
    return end - pos, Token(Kind.TEXT, raw, raw)


def _merge_text(tokens: list[Token]) -> list[Token]:
    merged: list[Token] = []
    for token in tokens:
        if token.kind is Kind.TEXT and merged and merged[-1].kind is Kind.TEXT:
            joined = merged[-1].raw + token.raw
            merged[-1] = Token(Kind.TEXT, joined, joined)
        else:
            merged.append(token)
    return merged


def text_lines(tokens: list[Token], encoding: str = "gb18030") -> list[str]:
    """The printed text of a ticket, line by line (images and QR codes left out)."""
    text = b"".join(t.data for t in tokens if t.kind is Kind.TEXT)
    return [line.strip() for line in text.decode(encoding, errors="replace").split("\n") if line.strip()]


def qr_payloads(tokens: list[Token]) -> list[str]:
    return [t.data.decode("utf-8") for t in tokens if t.kind is Kind.QR]


def images(tokens: list[Token]) -> list[Token]:
    return [t for t in tokens if t.kind is Kind.IMAGE]


def jobs(tokens: list[Token]) -> list[list[Token]]:
    """Split a stream at each cut: one list of tokens per ticket (the cut included)."""
    result: list[list[Token]] = []
    current: list[Token] = []
    for token in tokens:
        if token.kind is Kind.STATUS_QUERY:
            continue
        current.append(token)
        if token.kind is Kind.CUT:
            result.append(current)
            current = []
    return result
