"""The sealed form of a piece of personal data, as it stands in a log body or inside free text.

`⟦pd1:mobile:<key id>:<nonce and ciphertext, base64url>⟧`: the kind (so a reader
knows how to mask it), the id of the subject's key, and the AES-GCM output. A
whole field holds one token; free text holds tokens where the phone numbers
were, so `家属电话 138 1111 0002` is kept as `家属电话 ⟦pd1:mobile:...⟧`. Pure.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass

from contract.privacy import PersonalKind

VERSION = "pd1"
_TOKEN = re.compile(
    r"⟦pd1:(?P<kind>[a-z_]+):(?P<key>[A-Za-z0-9_-]{12}):(?P<data>[A-Za-z0-9_-]{20,})⟧"
)
_KINDS = {kind.value for kind in PersonalKind}


@dataclass(frozen=True)
class Sealed:
    """One token, parsed: where it stands in its text, its kind, its key and its sealed bytes."""

    start: int
    end: int
    kind: PersonalKind
    key_id: str
    data: bytes


def token(kind: PersonalKind, key_id: str, data: bytes) -> str:
    text = base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    return f"⟦{VERSION}:{kind.value}:{key_id}:{text}⟧"


def find_sealed(text: str) -> Iterator[Sealed]:
    """The tokens in `text`, in order (a token that is not well formed is left as text)."""
    if "⟦" not in text:
        return
    for match in _TOKEN.finditer(text):
        if match["kind"] not in _KINDS:
            continue
        padded = match["data"] + "=" * (-len(match["data"]) % 4)
        yield Sealed(match.start(), match.end(), PersonalKind(match["kind"]), match["key"],
                     base64.urlsafe_b64decode(padded))


def is_sealed(value: object) -> bool:
    """True when `value` is one whole token (a sealed field)."""
    return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


def defuse(text: str) -> str:
    """Text a person typed, with the token brackets replaced: nobody can write a token by hand
    (and have a key of another record opened inside their own complaint)."""
    return text.replace("⟦", "[").replace("⟧", "]")
