"""Device and service passwords, and their hashes in Mosquitto's own password-file format.

Mosquitto 2.0's `mosquitto_passwd` writes `$7$<iterations>$<salt>$<hash>`:
PBKDF2-HMAC-SHA512 over a 12-byte random salt, 64-byte digest, both base64.
We write the same lines so the broker verifies them natively; the plaintext is
never stored anywhere but on the device it belongs to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

MOSQUITTO_ITERATIONS = 101
"""mosquitto_passwd's default. Stretching adds nothing to a 256-bit random
secret, and every device connect pays for it on a small gateway."""

_SALT_BYTES = 12
_DIGEST = "sha512"


def new_password() -> str:
    """A strong random password (256 bits), URL-safe so it survives any config file."""
    return secrets.token_urlsafe(32)


def mosquitto_hash(
    password: str, *, iterations: int = MOSQUITTO_ITERATIONS, salt: bytes | None = None
) -> str:
    """The `$7$...` hash Mosquitto 2.0 verifies, as `mosquitto_passwd` writes it."""
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac(_DIGEST, password.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify(password: str, hashed: str) -> bool:
    """True when `password` matches a `$7$` hash (used to check a handed-over secret)."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[1] != "7":
        return False
    try:
        iterations = int(parts[2])
        salt = base64.b64decode(parts[3], validate=True)
        expected = base64.b64decode(parts[4], validate=True)
    except ValueError:
        return False
    digest = hashlib.pbkdf2_hmac(_DIGEST, password.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(digest, expected)


def password_file_line(username: str, hashed: str) -> str:
    if ":" in username or "\n" in username:
        raise ValueError(f"{username!r} cannot be a Mosquitto username")
    return f"{username}:{hashed}"
