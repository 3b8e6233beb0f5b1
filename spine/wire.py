"""Reading a batch message in one pass: the batch as data, and each event's JSON as the sender wrote it.

A receiver stores and forwards every event as its text, so it needs both the
parsed event (to validate it) and its text. Parsing the whole message and then
serialising each event again cost more than everything else a gateway does per
event; instead the events array is read element by element with the standard
library's scanner, keeping the span of each. Anything unexpected (another
layout, a repeated key, bytes that are not UTF-8) falls back to the plain
parse, and the receiver then serialises events itself: the same data either way.
"""

from __future__ import annotations

import json
import re
from typing import Any

_DECODER = json.JSONDecoder()
_EVENTS = re.compile(r'"events"\s*:\s*\[')
_SPACE = re.compile(r"[ \t\n\r]*")


def read_batch(payload: bytes | bytearray) -> tuple[Any, list[str] | None]:
    """The message parsed like `json.loads(payload)`, and the text of each element of its
    `events` array (None when it could not be told apart cheaply). Raises what json.loads raises."""
    try:
        text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError:
        return json.loads(payload), None
    start = _EVENTS.search(text)
    if start is None:
        return json.loads(text), None
    try:
        events, texts, end = _read_array(text, start.end())
        header = json.loads(text[: start.end() - 1] + "[]" + text[end:], object_pairs_hook=_unique_keys)
    except (ValueError, IndexError):
        return json.loads(text), None
    if not isinstance(header, dict) or header.get("events") != []:
        return json.loads(text), None  # the match was not the message's own events array
    header["events"] = events
    return header, texts


def _read_array(text: str, at: int) -> tuple[list[Any], list[str], int]:
    """The elements of the array whose `[` ends just before `at`, their texts, and where it ends."""
    values: list[Any] = []
    texts: list[str] = []
    at = _skip_space(text, at)
    if text[at] == "]":
        return values, texts, at + 1
    while True:
        value, end = _DECODER.raw_decode(text, at)
        values.append(value)
        texts.append(text[at:end])
        at = _skip_space(text, end)
        if text[at] == "]":
            return values, texts, at + 1
        if text[at] != ",":
            raise ValueError(f"expected ',' or ']' at {at}")
        at = _skip_space(text, at + 1)


def _skip_space(text: str, at: int) -> int:
    space = _SPACE.match(text, at)
    return space.end() if space is not None else at


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A repeated key makes `json.loads` keep the last value; the fast path would not, so refuse it."""
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("a key appears twice")
    return result
