"""Personal data and secrets: how they are found in text and masked wherever a person could read them.

One policy for every way out (API answers, pages, the CLI, log lines, tickets,
SMS previews): `redact` masks free text, `mask_phone`, `mask_id_number` and
`mask_name` mask a value of a known kind. `find_personal_data` gives the spans
that entry code seals (central keeps them encrypted beside the text, see
docs/security.md, "Personal data").

What counts as personal data in text: Chinese mobile numbers in every usual
form (`13811110002`, `138 1111 0002`, `138-1111-0003`, `+86 138...`,
`0086...`, full-width digits), landlines with their area code (`0937-1234567`,
`(0937)1234567`), and 18-character resident ID numbers. Names cannot be told
apart from other words, so they are masked only in the fields that hold them.
A number glued to other digits or letters (a case number, an event id, a hash)
is not a phone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

ERASED = "(erased)"
"""What a reader sees where personal data was erased."""


class PersonalKind(StrEnum):
    MOBILE = "mobile"
    LANDLINE = "landline"
    ID_NUMBER = "id_number"
    NAME = "name"

    @property
    def is_phone(self) -> bool:
        return self in (PersonalKind.MOBILE, PersonalKind.LANDLINE)


@dataclass(frozen=True)
class PersonalSpan:
    """Where a piece of personal data sits in a text, and its normal form (the digits it is known by)."""

    kind: PersonalKind
    start: int
    end: int
    value: str


PERSONAL_FIELDS: Mapping[str, Mapping[str, PersonalKind | None]] = {
    "queue.contact_given": {"phone": PersonalKind.MOBILE},
    "case.accepted": {"contact_name": PersonalKind.NAME, "contact_phone": PersonalKind.MOBILE,
                      "officer_phone": PersonalKind.MOBILE},
    "case.suspended": {"note": None},
    "case.decided": {"reason": None},
    "case.corrected": {"reason": None, "changes.contact_name": PersonalKind.NAME,
                       "changes.contact_phone": PersonalKind.MOBILE,
                       "changes.officer_phone": PersonalKind.MOBILE, "changes.note": None},
}
"""The body fields of event types that hold personal data: a kind for a whole value, None for free
text to be scanned. Dotted names reach into a nested object. A receiver that keeps events for
long (central) seals these before it stores them."""

# One code point each, so a span found in the translated text is the same span in the original.
_WIDE = str.maketrans({
    **{chr(0xFF10 + i): str(i) for i in range(10)},
    "＋": "+", "－": "-", "（": "(", "）": ")", "　": " ", "Ｘ": "X", "ｘ": "x",
    "‐": "-", "‑": "-", "–": "-", "—": "-", "．": ".",
})

_EDGE_BEFORE = r"(?<![0-9A-Za-z])"
_EDGE_AFTER = r"(?![0-9A-Za-z])"
_SEP = r"[ \-.]?"
_PERSONAL = re.compile(
    _EDGE_BEFORE + r"(?:"
    # 18-character resident ID: region, birth date (1800-2099), sequence, check character.
    r"(?P<id>[1-9]\d{5}[ \-]?(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    r"[ \-]?\d{3}[0-9Xx])"
    # Mobile: 1[3-9]x xxxx xxxx, maybe after +86 / 0086 / 86.
    r"|(?P<mobile>(?:(?:\+|00)?86[ \-]?)?1[3-9]\d" + _SEP + r"\d{4}" + _SEP + r"\d{4})"
    # Landline with area code: 010, 02x or 0xxx, maybe in brackets, then 7-8 digits.
    r"|(?P<landline>(?:\(0(?:10|2\d|[3-9]\d{2})\)|0(?:10|2\d|[3-9]\d{2}))[ \-]?[1-9]\d{6,7})"
    r")" + _EDGE_AFTER
)
_DIGIT_RUN = re.compile(r"[0-9\uFF10-\uFF19]{3}")
_MOBILE_DIGITS = re.compile(r"^1[3-9]\d{9}$")

_SECRET_PAIR = re.compile(
    r"(?i)\b(password|passwd|secret|token|private[_ ]key|enrol(?:l)?ment[_ ]code)"
    r"(\s*[=:]\s*|\"\s*:\s*\"?)([^\s\",}]+)"
)
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S)


def find_personal_data(text: str) -> list[PersonalSpan]:
    """Every phone number and ID number in `text`, in order, with its normal form."""
    if not text or not _DIGIT_RUN.search(text):
        return []  # the common case (no three digits in a row) costs one cheap scan
    narrow = text.translate(_WIDE)
    spans = []
    for match in _PERSONAL.finditer(narrow):
        kind = PersonalKind(_KIND_OF_GROUP[match.lastgroup or ""])
        spans.append(PersonalSpan(kind, match.start(), match.end(), _normal(kind, match.group())))
    return spans


_KIND_OF_GROUP = {"id": "id_number", "mobile": "mobile", "landline": "landline"}


def _normal(kind: PersonalKind, found: str) -> str:
    if kind is PersonalKind.ID_NUMBER:
        return re.sub(r"[ \-]", "", found).upper()
    return normalize_phone(found)


def normalize_phone(phone: str) -> str:
    """The digits a number is known by: `+86 138-0013-8000`, `8613800138000` and full-width
    `１３８００１３８０００` are all `13800138000`; a landline keeps its area code's 0."""
    digits = re.sub(r"\D", "", phone.translate(_WIDE))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and _MOBILE_DIGITS.match(digits[len(prefix):]):
            return digits[len(prefix):]
    return digits


def phone_kind(phone: str) -> PersonalKind:
    """A number given in a phone field: a mobile, or else a landline."""
    return PersonalKind.MOBILE if _MOBILE_DIGITS.match(normalize_phone(phone)) else PersonalKind.LANDLINE


def _already_masked(value: str) -> bool:
    return "*" in value or value == ERASED


def mask_phone(phone: str | None) -> str:
    """138****1234: enough for a citizen to recognise their number, not enough to call it.

    A value that is already masked (or erased) is returned as it is, so masking twice is harmless.
    """
    if not phone:
        return ""
    if _already_masked(phone):
        return phone
    digits = normalize_phone(phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_number(number: str | None) -> str:
    """110***********123X: the province and the last four characters, not the birth date."""
    if not number:
        return ""
    if _already_masked(number):
        return number
    compact = re.sub(r"[ \-]", "", number.translate(_WIDE)).upper()
    if len(compact) < 8:
        return "*" * len(compact)
    return compact[:3] + "*" * (len(compact) - 7) + compact[-4:]


def mask_name(name: str | None) -> str:
    """张三 -> 张*, 张三丰 -> 张**, 欧阳娜娜 -> 欧***: the first character, enough to tell cases apart."""
    if not name:
        return ""
    name = name.strip()
    if _already_masked(name):
        return name
    return name[:1] + "*" * max(1, len(name) - 1)


def mask_value(kind: PersonalKind, value: str | None) -> str:
    """A value of a known kind, masked as that kind is everywhere."""
    if kind is PersonalKind.NAME:
        return mask_name(value)
    if kind is PersonalKind.ID_NUMBER:
        return mask_id_number(value)
    return mask_phone(value)


def mask_personal_data(text: str) -> str:
    """Every phone and ID number in `text` replaced by its mask; everything else as it was."""
    spans = find_personal_data(text)
    if not spans:
        return text
    out, position = [], 0
    for span in spans:
        out.append(text[position:span.start])
        out.append(mask_value(span.kind, span.value))
        position = span.end
    out.append(text[position:])
    return "".join(out)


def mask_personal_fields(type: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """An event body with its personal fields (`PERSONAL_FIELDS`) masked: what a node keeps
    when it has no need of the clear value once the event has gone on (the hall gateway)."""
    masked: dict[str, Any] = dict(body)
    for path, kind in PERSONAL_FIELDS.get(type, {}).items():
        holder: dict[str, Any] = masked
        *parents, leaf = path.split(".")
        for parent in parents:
            child = holder.get(parent)
            if not isinstance(child, Mapping):
                break
            holder[parent] = holder = dict(child)
        else:
            value = holder.get(leaf)
            if isinstance(value, str):
                holder[leaf] = mask_value(kind, value) if kind is not None else mask_personal_data(value)
    return masked


def redact(text: str) -> str:
    """The one mask for free text on its way out: personal data, `password=...` secrets, PEM keys."""
    text = _PEM.sub("[private key redacted]", text)
    text = _SECRET_PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    return mask_personal_data(text)
