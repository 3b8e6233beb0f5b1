"""Phone numbers as the SMS store keeps them: one normal form, and a keyed digest for look-ups."""

from __future__ import annotations

import hmac

from contract.privacy import normalize_phone

__all__ = ["normalize_phone", "phone_digest"]
# The normal form is the contract's (`contract.privacy.normalize_phone`): a modem reports a reply's
# sender in international form, the case record has what the officer typed; both must find the
# same opt-out, rate limit and erasure.


def phone_digest(key: bytes, phone: str) -> str:
    """A keyed digest of the normal form: counts and opt-outs without the number in the query."""
    return hmac.new(key, normalize_phone(phone).encode(), "sha256").hexdigest()
