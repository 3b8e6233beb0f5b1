"""Enrolment codes: a Pi fetches its bundle once, with a short-lived code, instead of an SD card.

The bundle is sealed (AES-GCM) under a key derived from the code; the
registry keeps only the sealed bytes and a lookup derived from the code, so
neither the registry file nor the network ever carries the bundle in clear.
A code works once and expires; fetching it again says so plainly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from spine.files import FileEntry

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_CHARS = 16  # 80 bits: far beyond guessing within a code's lifetime
DEFAULT_TTL_S = 30 * 60


class EnrolmentError(Exception):
    """An enrolment code that cannot be used: unknown, expired, already used, or mistyped."""


def new_code() -> str:
    raw = "".join(secrets.choice(CROCKFORD) for _ in range(CODE_CHARS))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_CHARS, 4))


def normalise(code: str) -> str:
    """Accept what a technician types: any case, dashes or spaces, O for 0, I/L for 1."""
    cleaned = code.upper().replace("-", "").replace(" ", "")
    cleaned = cleaned.translate(str.maketrans("OIL", "011"))
    if len(cleaned) != CODE_CHARS or any(c not in CROCKFORD for c in cleaned):
        raise EnrolmentError(
            f"an enrolment code has {CODE_CHARS} letters and digits, like ABCD-EFGH-JKMN-PQRS"
        )
    return cleaned


def lookup_of(code: str) -> str:
    return hashlib.sha256(b"hallwatch-enrolment-lookup:" + normalise(code).encode()).hexdigest()[:32]


def _key(code: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"hallwatch-enrolment-key").derive(normalise(code).encode())


def seal(files: dict[str, FileEntry], code: str) -> bytes:
    document = {
        name: {"data": base64.b64encode(e.data).decode(), "secret": e.secret} for name, e in files.items()
    }
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(_key(code)).encrypt(nonce, json.dumps(document).encode(), lookup_of(code).encode())


def unseal(sealed: bytes, code: str) -> dict[str, FileEntry]:
    try:
        plain = AESGCM(_key(code)).decrypt(sealed[:12], sealed[12:], lookup_of(code).encode())
    except Exception as exc:  # InvalidTag: a wrong code or damaged bytes
        raise EnrolmentError("the bundle cannot be opened with this code") from exc
    document = json.loads(plain)
    return {name: FileEntry(base64.b64decode(e["data"]), bool(e["secret"])) for name, e in document.items()}


def code_file(directory: Path, device: str) -> Path:
    return Path(directory) / f"{device}.enrolment"


def fetch_bundle(url: str, code: str, *, timeout: float = 30.0) -> dict[str, FileEntry]:
    """On the Pi: fetch the sealed bundle for `code` from an enrolment server and open it.

    Plain HTTP is enough: the bundle is sealed under the code, which never
    crosses the network (only a lookup derived from it does).
    """
    import urllib.error
    import urllib.request

    target = f"{url.rstrip('/')}/enrol/{lookup_of(code)}"
    try:
        with urllib.request.urlopen(urllib.request.Request(target, method="POST"), timeout=timeout) as reply:
            sealed = reply.read()
    except urllib.error.HTTPError as exc:
        reason = exc.read().decode(errors="replace").strip() or exc.reason
        raise EnrolmentError(f"the enrolment server refused: {reason}") from None
    except OSError as exc:
        raise EnrolmentError(f"cannot reach the enrolment server at {url}: {exc}") from None
    return unseal(sealed, code)
