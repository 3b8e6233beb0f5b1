"""The SMS platform as central's service sees it: notify, erase, diagnostics, start and stop.

Built once by central's `service.py` from the `[sms]` settings; the service
hands every committed fact to `notify` (after its commit, so a fact rolled back
sends nothing) and calls `start()` / `stop()` with its own life cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from central.sms.notifier import PhoneBook, SmsNotifier, no_phone_book
from central.sms.outbox import MessageView, SmsOutbox
from central.sms.senders.base import IncomingSms, SmsSender
from central.sms.senders.factory import build_sender
from central.sms.settings import SmsSettings
from central.sms.templates import TemplateBook
from central.sms.worker import PassResult, SmsWorker
from contract.privacy import redact
from spine.clock import Clock, SystemClock
from spine.storeurl import StoreUrl

log = logging.getLogger(__name__)


class SmsPlatform:
    """Citizen and officer notification by SMS: one outbox (shared by every central process on
    PostgreSQL), one sender, one worker."""

    def __init__(self, settings: SmsSettings, *, clock: Clock | None = None, sender: SmsSender | None = None,
                 phone_book: PhoneBook = no_phone_book, templates: TemplateBook | None = None,
                 store: StoreUrl | None = None, process: str | None = None) -> None:
        """`store`: central's PostgreSQL database, which every central process's platform shares
        (None: the `settings.store` file); `process`: this central process's own name (its `id`)."""
        self.settings = settings
        self.clock = clock or SystemClock()
        self.templates = templates or TemplateBook.load(settings.templates, signature=settings.signature)
        self.outbox = SmsOutbox(store if store is not None else settings.store, process=process,
                                lease_ms=int(settings.lease_s * 1000))
        self.sender = sender if sender is not None else build_sender(settings)
        self.worker = SmsWorker(self.outbox, self.sender, settings, self.clock)
        self.notifier = SmsNotifier(self.outbox, self.templates, self.clock, phone_book=phone_book,
                                    wake=self.worker.wake)

    # --- what the rest of central calls --------------------------------------

    def notify(self, fact_id: str, fact_type: str, body: Mapping[str, Any], *,
               due_day: str | None = None) -> list[int]:
        """Queue the SMS a committed fact calls for (none if disabled or the fact is silent)."""
        if not self.settings.enabled:
            return []
        return self.notifier.notify(fact_id, fact_type, body, due_day=due_day)

    def receive_reply(self, phone: str, text: str) -> bool:
        """A reply pushed by an HTTP platform's callback; True if it was an opt-out."""
        return self.worker.receive(IncomingSms(phone, text))

    def erase(self, phone: str) -> dict[str, int]:
        """Remove a citizen's number from the SMS store (the opt-out, if any, stays as a digest)."""
        counts = self.outbox.erase(phone)
        log.info("a phone number was erased from the SMS store: %s", counts)
        return counts

    def erase_before(self, cutoff_ms: int) -> dict[str, int]:
        """Retention: forget the numbers of messages settled before `cutoff_ms` (see the outbox)."""
        counts = self.outbox.erase_before(cutoff_ms)
        if any(counts.values()):
            log.info("numbers of old messages were erased from the SMS store: %s", counts)
        return counts

    def retry(self, message_id: int) -> bool:
        """Put a failed message back in the queue."""
        done = self.outbox.retry(message_id, self.clock.wall_ms())
        if done:
            self.worker.wake()
        return done

    def messages(self, *, state: str | None = None, fact_id: str | None = None,
                 limit: int = 100) -> list[MessageView]:
        return self.outbox.messages(state=state, fact_id=fact_id, limit=limit)

    def run_once(self, *, poll: bool | None = None) -> PassResult:
        """One pass of the worker (tests drive the platform with it)."""
        return self.worker.run_once(poll=poll)

    def diagnostics(self) -> dict[str, Any]:
        """A redacted snapshot: numbers masked, secrets absent."""
        problems = self.outbox.messages(state="failed", limit=10)
        return {
            "enabled": self.settings.enabled,
            "sender": self.sender.describe(),
            "sender_ok": self.worker.sender_ok,
            "sender_error": self.worker.sender_error,
            "worker_running": self.worker.running,
            "passes": self.worker.passes,
            "messages": self.outbox.counts(),
            "next_due_ms": self.outbox.next_due(),
            "opt_outs": self.outbox.opt_out_count(),
            "failed": [{**asdict(m), "text": redact(m.text)} for m in problems],
            "recent_replies": [{**r, "text": redact(r["text"] or "")} for r in self.outbox.incoming(5)],
        }

    # --- life cycle -----------------------------------------------------------

    def start(self) -> None:
        if self.settings.enabled:
            self.worker.start()

    def stop(self) -> None:
        self.worker.stop()
        self.outbox.close()
