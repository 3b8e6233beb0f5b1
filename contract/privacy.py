"""Personal data and secrets: how they are masked wherever a person could read them."""

from __future__ import annotations

import re

# Mainland mobile numbers (11 digits starting 1[3-9]) and landlines with area code.
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_SECRET_PAIR = re.compile(
    r"(?i)\b(password|passwd|secret|token|private[_ ]key|enrol(?:l)?ment[_ ]code)"
    r"(\s*[=:]\s*|\"\s*:\s*\"?)([^\s\",}]+)"
)
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S)


def mask_phone(phone: str | None) -> str:
    """138****1234: enough for a citizen to recognise their number, not enough to call it."""
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def redact(text: str) -> str:
    """Mask phone numbers, `password=...`-style secrets and PEM private keys in free text."""
    text = _PEM.sub("[private key redacted]", text)
    text = _SECRET_PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
