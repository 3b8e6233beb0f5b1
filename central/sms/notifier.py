"""From a fact to stored messages: plan the notices, find the numbers, render the texts, enqueue.

The phone book is the caller's: central knows where a case's contact phone and
its officer's phone are kept (sealed apart from the log), and passes a
`PhoneBook` that looks them up. A notice without a number is stored as
`unaddressed`, so a fact that should have reached someone and did not is visible.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from central.sms.outbox import Draft, SmsOutbox
from central.sms.planning import Notice, Recipient, plan
from central.sms.segments import split_ucs2
from central.sms.templates import TemplateBook
from contract.privacy import mask_phone
from spine.clock import Clock

log = logging.getLogger(__name__)


class PhoneBook(Protocol):
    def __call__(self, recipient: Recipient, subject: str) -> str | None:
        """The number of `recipient` for `subject` (case id, complaint number, booking code, unit)."""
        ...


def no_phone_book(recipient: Recipient, subject: str) -> str | None:
    return None


class SmsNotifier:
    """Turns facts into outbox rows, exactly once per (fact, recipient, template)."""

    def __init__(self, outbox: SmsOutbox, templates: TemplateBook, clock: Clock, *,
                 phone_book: PhoneBook = no_phone_book, wake: Callable[[], None] | None = None) -> None:
        self.outbox = outbox
        self.templates = templates
        self.clock = clock
        self.phone_book = phone_book
        self.wake = wake

    def notify(self, fact_id: str, fact_type: str, body: Mapping[str, Any], *,
               due_day: str | None = None) -> list[int]:
        """Store the messages a fact calls for; a repeated fact stores nothing new. Returns message ids."""
        ids: list[int] = []
        fresh = False
        for notice in plan(fact_type, body, due_day=due_day):
            message_id, new = self._store(fact_id, fact_type, notice)
            ids.append(message_id)
            fresh = fresh or new
        if fresh and self.wake is not None:
            self.wake()
        return ids

    def _store(self, fact_id: str, fact_type: str, notice: Notice) -> tuple[int, bool]:
        phone = notice.phone or self.phone_book(notice.recipient, notice.subject)
        text = self.templates.render(notice.template, notice.values, notice.recipient)
        draft = Draft(fact_id, fact_type, notice.recipient.value, notice.template, notice.subject, phone,
                      text, len(split_ucs2(text)))
        message_id, new = self.outbox.enqueue(draft, self.clock.wall_ms())
        if new and phone is None:
            log.warning("SMS %s for %s of fact %s: no phone number known for the %s; stored as unaddressed",
                        notice.template, notice.subject, fact_id, notice.recipient.value)
        elif new:
            log.info("SMS %s queued for %s (%s) from fact %s", notice.template, mask_phone(phone),
                     notice.recipient.value, fact_id)
        return message_id, new
