"""Text every part can store: no NUL character.

PostgreSQL's text cannot hold a NUL (U+0000), so a value carrying one fails deep in a write
there (and is stored on SQLite): the two databases would disagree, and a batch holding one
would fail again at every resend. It is refused where it is received instead, with the place
of the character, by the receivers (`spine.receiver`) and central's API (`central.web.nul`).
"""

from __future__ import annotations

from typing import Any

Place = list[str | int]
"""Where in a JSON value: the keys and indexes from the top, as pydantic's `loc`."""

ESCAPED_NUL = b"\\u0000"
"""How JSON spells a NUL inside a string; a body without it holds none (a raw NUL byte is no
valid JSON)."""


def nul_place(value: Any) -> Place | None:
    """Where a JSON value (dicts, lists, strings...) holds a NUL in a string or a key, or None."""
    if isinstance(value, str):
        return [] if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                return [key.replace("\x00", "")]
            place = nul_place(item)
            if place is not None:
                return [key, *place]
    if isinstance(value, list):
        for index, item in enumerate(value):
            place = nul_place(item)
            if place is not None:
                return [index, *place]
    return None


def printable(text: str) -> str:
    """`text` fit for a row or a log line: a NUL it may echo (a refused value's key) spelled out."""
    return text.replace("\x00", "\\x00")
