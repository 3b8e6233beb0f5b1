"""Phone numbers as the SMS store keeps them: one normal form, and a keyed digest for look-ups."""

from __future__ import annotations

import hmac
import re

_MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalize_phone(phone: str) -> str:
    """The digits a number is known by: +86 138-0013-8000 and 8613800138000 are 13800138000.

    A modem reports a reply's sender in international form, the case record has
    what the officer typed; both must find the same opt-out and rate limit.
    """
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and _MAINLAND_MOBILE.match(digits[2:]):
        digits = digits[2:]
    return digits


def phone_digest(key: bytes, phone: str) -> str:
    """A keyed digest of the normal form: counts and opt-outs without the number in the query."""
    return hmac.new(key, normalize_phone(phone).encode(), "sha256").hexdigest()
