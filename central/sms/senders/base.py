"""What every SMS sender is: a small protocol, and the facts it reports back.

A sender never raises for a message that did not go out: it answers with a
`SendOutcome` saying how far it got and whether trying again can help, so the
outbox can resume a long message at its first unsent part instead of sending
the citizen the first half twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class OutgoingSms:
    """One message as the outbox hands it to a sender."""

    message_id: int
    phone: str = field(repr=False)
    text: str
    units: tuple[str, ...]
    """What the sender transmits one by one (parts for a modem, the whole text for a platform)."""
    first_unit: int = 0
    """Units before this one were accepted on an earlier attempt: do not send them again."""
    concat_ref: int = 0
    """The concatenation reference (0-255) every part of this message carries, on every attempt."""
    report: bool = True


@dataclass(frozen=True)
class SendOutcome:
    """How far a send got: the references of the units accepted now, and the error that stopped it."""

    references: tuple[str | None, ...] = ()
    error: str | None = None
    retryable: bool = True

    @property
    def complete(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class DeliveryReport:
    """The network's status report for one part (TS 23.040 TP-Status)."""

    reference: str
    phone: str = field(repr=False)
    delivered: bool
    final: bool
    """False while the network is still trying (TP-Status 0x20-0x3F): keep waiting."""
    status: str = ""


@dataclass(frozen=True)
class IncomingSms:
    """A text a phone sent us (a reply such as 退订)."""

    phone: str = field(repr=False)
    text: str
    received_ms: int | None = None


class SmsSender(Protocol):
    """Sends texts and reads what comes back: a modem, an HTTP platform, or the simulation."""

    name: str

    def split(self, text: str) -> tuple[str, ...]:
        """The units this sender transmits for `text`."""
        ...

    def send(self, sms: OutgoingSms) -> SendOutcome:
        """Transmit `sms.units[sms.first_unit:]`, stopping at the first unit that fails."""
        ...

    def poll(self) -> list[IncomingSms | DeliveryReport]:
        """Replies and delivery reports received since the last poll (already removed from the device)."""
        ...

    def close(self) -> None: ...

    def describe(self) -> dict[str, Any]:
        """A redacted snapshot for diagnostics: no secrets, no clear numbers."""
        ...
