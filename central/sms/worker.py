"""The worker that drains the SMS outbox: quiet hours, rate limits, sending, retries, replies and reports.

`run_once()` is one pass and is what tests drive on a hand-set clock; `start()`
runs passes on a thread until `stop()`. A sender that fails in a way trying
again may cure (modem unplugged, platform down) ends the pass, so a dead modem
costs one attempt per pass, not one per queued message.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from central.sms.optout import is_opt_out
from central.sms.outbox import Pending, SmsOutbox
from central.sms.planning import Recipient
from central.sms.policy import DAY_MS, HOUR_MS, quiet_until, rate_hold, retry_delay_ms
from central.sms.senders.base import DeliveryReport, IncomingSms, OutgoingSms, SmsSender
from central.sms.settings import SmsSettings
from contract.privacy import mask_phone
from spine.clock import Clock

log = logging.getLogger(__name__)


@dataclass
class PassResult:
    sent: int = 0
    held: int = 0
    retried: int = 0
    failed: int = 0
    replies: int = 0
    reports: int = 0


class SmsWorker:
    """Drains the outbox through one sender."""

    def __init__(self, outbox: SmsOutbox, sender: SmsSender, settings: SmsSettings, clock: Clock) -> None:
        self.outbox = outbox
        self.sender = sender
        self.settings = settings
        self.clock = clock
        self.sender_ok: bool | None = None
        self.sender_error: str | None = None
        self.passes = 0
        self._last_poll_mono: int | None = None
        self._down_since_failures = 0
        self._paused_until_mono = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # --- one pass -----------------------------------------------------------

    def run_once(self, *, poll: bool | None = None) -> PassResult:
        """Read replies and reports (when due, or if `poll` says so), then send what is due."""
        result = PassResult()
        now_mono = self.clock.mono_ms()
        poll_due = (self._last_poll_mono is None
                    or now_mono - self._last_poll_mono >= self.settings.incoming_poll_s * 1000)
        if poll or (poll is None and poll_due):
            self._last_poll_mono = now_mono
            self._read_incoming(result)
        if now_mono < self._paused_until_mono:
            self.passes += 1
            return result  # the sender is down: wait before trying the next message
        reclaimed = self.outbox.reclaim_expired(self.clock.wall_ms())
        if reclaimed:
            log.warning("%d SMS left sending by a process whose lease ended are queued again", reclaimed)
        for pending in self.outbox.due(self.clock.wall_ms(), self.settings.batch):
            if self._stop.is_set() or not self._one(pending, result):
                break
        self.passes += 1
        return result

    def _one(self, due: Pending, result: PassResult) -> bool:
        """Try one message; False when the sender is down and the pass should end."""
        now = self.clock.wall_ms()
        # Taken in one transaction: the row (another process's worker skips it) and, on PostgreSQL,
        # the number's lock, so the limits count every process's sends (`SmsOutbox.take`).
        with self.outbox.take(due.id, now) as taken:
            if taken is None:
                return True  # another worker has it, or it was sent, opted out or held since it was read
            message = taken.message
            quiet = quiet_until(now, self.settings.quiet_hours, Recipient(message.recipient))
            if quiet is not None:
                taken.hold(quiet, "quiet_hours")
                result.held += 1
                return True
            limited = rate_hold(now, taken.send_times(now - DAY_MS), taken.all_send_times(now - HOUR_MS),
                                self.settings.rate)
            if limited is not None:
                taken.hold(limited, "rate_limit")
                result.held += 1
                return True
            units = self.sender.split(message.text)
            first = message.units_sent
            if message.units_total is not None and message.units_total != len(units):
                # Another sender took the earlier attempt and split differently: start over whole.
                log.warning("SMS %d: split into %d units now, %d before; sending it whole again",
                            message.id, len(units), message.units_total)
                first = 0
            taken.start(self.sender.name, len(units))
        outcome = self.sender.send(OutgoingSms(message.id, message.phone, message.text, units, first,
                                               message.concat_ref))
        now = self.clock.wall_ms()
        self.outbox.record_units(message.id, first, outcome.references, now)
        if outcome.complete:
            self.outbox.mark_sent(message.id, now)
            self._sender_state(True, None)
            self._down_since_failures = 0
            log.info("SMS %d sent to %s (%d part(s))", message.id, mask_phone(message.phone), len(units))
            result.sent += 1
            return True
        error = outcome.error or "unknown error"
        attempts = message.attempts + 1
        if outcome.retryable and attempts < self.settings.retry.max_attempts:
            delay = retry_delay_ms(attempts, self.settings.retry)
            self.outbox.mark_retry(message.id, error, now + delay, now)
            result.retried += 1
        else:
            self.outbox.mark_failed(message.id, error, now)
            log.error("SMS %d to %s failed after %d attempt(s): %s", message.id, mask_phone(message.phone),
                      attempts, error)
            result.failed += 1
        if outcome.retryable:
            self._sender_state(False, error)
            self._down_since_failures += 1
            pause_ms = retry_delay_ms(self._down_since_failures, self.settings.retry)
            self._paused_until_mono = self.clock.mono_ms() + pause_ms
            return False
        return True

    def _sender_state(self, ok: bool, error: str | None) -> None:
        # Logged once per change, not once per message or pass.
        if ok != self.sender_ok:
            if ok:
                log.info("SMS sender %s is sending", self.sender.name)
            else:
                log.error("SMS sender %s is not sending: %s; messages stay queued", self.sender.name, error)
        self.sender_ok = ok
        self.sender_error = error

    def _read_incoming(self, result: PassResult) -> None:
        try:
            items = self.sender.poll()
        except Exception:  # a broken poll must not stop the sending
            log.exception("reading replies and delivery reports failed")
            return
        for item in items:
            now = self.clock.wall_ms()
            if isinstance(item, DeliveryReport):
                self.outbox.record_report(item, now)
                result.reports += 1
            elif isinstance(item, IncomingSms):
                self.receive(item)
                result.replies += 1

    def receive(self, reply: IncomingSms) -> bool:
        """A text from a phone: an opt-out stops every message to that number. True if it was one."""
        now = self.clock.wall_ms()
        if is_opt_out(reply.text):
            stopped = self.outbox.opt_out(reply.phone, "reply", now)
            self.outbox.record_incoming(reply, "opt_out", now)
            log.info("%s opted out by reply; %d queued message(s) stopped", mask_phone(reply.phone), stopped)
            return True
        self.outbox.record_incoming(reply, "kept", now)
        log.info("reply from %s kept for the office (not an opt-out)", mask_phone(reply.phone))
        return False

    # --- the thread ---------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        recovered = self.outbox.recover(self.clock.wall_ms())
        if recovered:
            log.warning("%d SMS interrupted by the last stop (or a lost process) are queued again", recovered)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sms-worker", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Something new is queued: do not wait for the next tick."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("SMS worker pass failed; trying again")
            self._wake.wait(self._idle_s())
            self._wake.clear()

    def _idle_s(self) -> float:
        paused_s = (self._paused_until_mono - self.clock.mono_ms()) / 1000
        if paused_s > 0:
            return min(self.settings.poll_s, paused_s)
        next_due = self.outbox.next_due()
        if next_due is None:
            return self.settings.poll_s
        return max(0.0, min(self.settings.poll_s, (next_due - self.clock.wall_ms()) / 1000))

    def stop(self, timeout: float = 30.0) -> None:
        """Ends the thread after the message in hand (a send is bounded by the sender's own deadline)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.sender.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
