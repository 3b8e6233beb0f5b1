"""Reading sealed personal data: masked for every reader, in clear for the few who must call a citizen.

A `Reader` serves one answer (a page of cases, a complaint's history): it loads
the keys its tokens need once, and never keeps them longer. A token whose key
was erased reads as `(erased)`; so does a token that does not belong to the
record it stands in. Values written before sealing existed (clear text) are
masked with the contract's masks, so old rows never leak either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from central.personal import tokens, vault
from central.personal.vault import Source, SubjectKey
from contract.privacy import ERASED, PersonalKind, mask_value, redact

NAME_FIELDS = frozenset({"contact_name", "complainant"})
"""Body fields that hold a person's name (masked as names even when written in clear)."""
PHONE_FIELDS = frozenset({"contact_phone", "officer_phone", "phone"})


class Reader:
    """Opens the tokens of one answer, through a read of the owner's database (`vault.Source`)."""

    def __init__(self, read: Source) -> None:
        self.read = read
        self._keys: dict[str, SubjectKey | None] = {}

    def prefetch(self, values: Iterable[Any]) -> None:
        """Load, in one query, the keys the tokens in `values` (strings, dicts, lists) need."""
        wanted = {sealed.key_id for text in _strings(values) for sealed in tokens.find_sealed(text)}
        wanted -= set(self._keys)
        if wanted:
            found = vault.keys_by_id(self.read, wanted)
            self._keys.update({key_id: found.get(key_id) for key_id in wanted})

    def _open(self, subject: str, sealed: tokens.Sealed) -> str | None:
        if sealed.key_id not in self._keys:
            found = vault.keys_by_id(self.read, [sealed.key_id])
            self._keys[sealed.key_id] = found.get(sealed.key_id)
        key = self._keys[sealed.key_id]
        if key is None or key.subject != subject:
            return None
        return vault.open_with(key, sealed)

    def _render(self, subject: str, text: str, clear: bool) -> tuple[str, bool]:
        out, position, found = [], 0, False
        for sealed in tokens.find_sealed(text):
            found = True
            out.append(text[position:sealed.start])
            value = self._open(subject, sealed)
            out.append(ERASED if value is None else value if clear else mask_value(sealed.kind, value))
            position = sealed.end
        if not found:
            return text, False
        out.append(text[position:])
        return "".join(out), True

    def masked(self, subject: str, value: str | None, kind: PersonalKind | None = None) -> str | None:
        """What any reader may see: a field of `kind` masked as that kind, free text with every
        phone and ID number masked."""
        if value is None:
            return None
        rendered, sealed = self._render(subject, value, clear=False)
        if sealed:
            return rendered if kind is not None else redact(rendered)
        return mask_value(kind, value) if kind is not None else redact(value)

    def clear(self, subject: str, value: str | None) -> str | None:
        """The value as it was entered, for the officer calling back or the SMS sender only."""
        if value is None:
            return None
        return self._render(subject, value, clear=True)[0]

    def masked_body(self, subject: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A log body as any reader may see it: names and phones masked, free text redacted."""
        self.prefetch([body])
        return {name: self._masked_item(subject, name, value) for name, value in body.items()}

    def clear_body(self, subject: str, body: Mapping[str, Any]) -> dict[str, Any]:
        self.prefetch([body])
        return {name: self._clear_item(subject, value) for name, value in body.items()}

    def _masked_item(self, subject: str, name: str, value: Any) -> Any:
        if isinstance(value, str):
            return self.masked(subject, value, _kind_of(name))
        if isinstance(value, Mapping):
            return {k: self._masked_item(subject, k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._masked_item(subject, name, v) for v in value]
        return value

    def _clear_item(self, subject: str, value: Any) -> Any:
        if isinstance(value, str):
            return self.clear(subject, value)
        if isinstance(value, Mapping):
            return {k: self._clear_item(subject, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._clear_item(subject, v) for v in value]
        return value


def _kind_of(field: str) -> PersonalKind | None:
    if field in NAME_FIELDS:
        return PersonalKind.NAME
    if field in PHONE_FIELDS:
        return PersonalKind.MOBILE
    return None


def _strings(values: Iterable[Any]) -> Iterable[str]:
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, Mapping):
            yield from _strings(value.values())
        elif isinstance(value, (list, tuple)):
            yield from _strings(value)
