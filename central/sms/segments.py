"""How a text becomes SMS parts: UCS-2, 70 characters alone or 67 per part of a concatenated SMS.

A Chinese SMS is coded in UCS-2 (3GPP TS 23.038): 140 octets carry 70 UTF-16
code units. A longer text is sent as parts that each carry a 6-octet
concatenation header (TS 23.040 9.2.3.24.1: IEI 00, reference, count, number),
leaving 134 octets, 67 units. A character outside the Basic Multilingual Plane
takes two units and is never cut between two parts.
"""

from __future__ import annotations

SINGLE_UNITS = 70
PART_UNITS = 67
MAX_PARTS = 255


def _units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def ucs2_length(text: str) -> int:
    """UTF-16 code units: what the 70/67 limits count."""
    return sum(_units(c) for c in text)


def split_ucs2(text: str) -> tuple[str, ...]:
    """The parts of `text`: one if it fits 70 units, else as many 67-unit parts as needed."""
    if ucs2_length(text) <= SINGLE_UNITS:
        return (text,)
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for char in text:
        size = _units(char)
        if used + size > PART_UNITS:
            parts.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += size
    parts.append("".join(current))
    if len(parts) > MAX_PARTS:
        raise ValueError(f"a text of {ucs2_length(text)} units needs more than {MAX_PARTS} parts")
    return tuple(parts)
