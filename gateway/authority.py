"""Who is speaking, and may they say it: the authority table (`contract.authority`) applied to devices.

The gateway never takes a device's word for who it is. Its broker login and
topic name it; the registry says its kind and window (a device unknown to the
registry, let in by `open_enrolment`, has no kind and may state only what a
simulator may); the queue says who is logged in at that window. Every event is
checked against its type's declared authors and subject twice:

- before the batch is stored (`check`): the author's kind, facts about itself
  only, its own window only; a device's own receipt stamp is refused by the
  receiver itself;
- inside the storing transaction (`admit`), for what depends on the events
  before it in the same stream: a contact given for a visit its window called,
  a case fact by the officer logged in at its window for a case of that
  officer's unit.

What passes is stamped with the author the gateway verified (`Received.kind`,
`window`, and for case facts `officer` and `unit`), so central can check the
table again without believing the device. What fails is refused whole: a dead
letter with its reason, never seen by the hall's handlers, and an alarm
(`gateway.refusals`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contract.authority import About, Speaker, author_refusal, case_refusal, subject_refusal
from contract.catalog import spec_for
from contract.envelope import Batch, Envelope
from contract.kinds import Author, DeviceKind
from gateway.queue import store as queue_store
from gateway.registry.directory import UnitDirectory
from gateway.registry.store import DeviceRegistry, RegisteredDevice, selftest_pending
from spine.handlers import HandlerContext
from spine.receiver import AcceptedEvent, Refusal


@dataclass(frozen=True)
class Sender:
    """One batch's sender as the registry knows it when the batch arrives."""

    device: str
    registered: RegisteredDevice | None
    speaker: Speaker | None
    """None: a device the registry cannot vouch for (unknown, or a kind that may state nothing)."""


class HallAuthority:
    """The gateway's receiver policy: `authorize`, `check`, `author_of` and `admit`."""

    def __init__(self, hall: str, registry: DeviceRegistry, *, open_enrolment: bool,
                 terminal_windows: Mapping[str, str] | None = None,
                 configured_units: UnitDirectory | None = None) -> None:
        self.hall = hall
        self.registry = registry
        self.open_enrolment = open_enrolment
        self.terminal_windows = dict(terminal_windows or {})
        """Rating terminals the gateway's `[ratings.windows]` assigns to a window."""
        self.configured_units = configured_units or UnitDirectory()
        """Units the gateway's `[ratings]` tables name, for whom central's registry names none."""
        self._sender: Sender | None = None
        """The sender of the batch being received: the registry is read once per batch, not per
        event (the receiver takes one batch at a time, from `authorize` to its commit)."""

    # --- who is speaking -------------------------------------------------------------------

    def sender(self, device: str) -> Sender:
        """The device as the registry knows it: the batch's sender's, or read afresh."""
        current = self._sender
        if current is not None and current.device == device:
            return current
        return self._read_sender(device)

    def _read_sender(self, device: str) -> Sender:
        registered = self.registry.get(device)
        if registered is None:
            speaker = Speaker(Author.SIM, device, self.hall) if self.open_enrolment else None
            return Sender(device, None, speaker)
        try:
            author = Author.of_device(DeviceKind(registered.kind))
        except ValueError:
            return Sender(device, registered, None)
        window = registered.window
        if author is Author.RATING and window is None:
            window = self.terminal_windows.get(device)
        return Sender(device, registered, Speaker(author, device, self.hall, window))

    def author_of(self, envelope: Envelope) -> dict[str, Any]:
        """The receipt stamp's author fields for an event `check` let through."""
        speaker = self.sender(envelope.device).speaker
        if speaker is None:
            return {}
        stamp: dict[str, Any] = {"kind": speaker.author}
        if speaker.window is not None:
            stamp["window"] = speaker.window
        return stamp

    # --- before storing --------------------------------------------------------------------

    def authorize(self, topic_device: str, batch: Batch) -> Refusal | None:
        self._sender = None
        if batch.sender != topic_device:
            return Refusal(f"batch sender {batch.sender!r} does not match its topic's device "
                           f"{topic_device!r}")
        held = self.registry.quarantined(topic_device)
        if held is not None:
            # Already an alarm when it began: what the device sends meanwhile is kept, not re-alarmed.
            return Refusal(f"device {topic_device!r} is in quarantine ({held.reason}): a technician "
                           "must release it with 'hall gateway release'", alarm=False)
        refusal = self.registry.refusal(topic_device)
        if refusal is not None:
            return Refusal(refusal)
        self._sender = self._read_sender(topic_device)
        return None

    def check(self, topic_device: str, batch: Batch, envelope: Envelope) -> Refusal | None:
        if envelope.device != batch.sender:
            return Refusal(f"event of device {envelope.device!r} sent by {batch.sender!r}")
        sender = self.sender(envelope.device)
        speaker = sender.speaker
        if speaker is None:
            kind = sender.registered.kind if sender.registered is not None else None
            return Refusal(f"device {envelope.device!r} is registered with kind {kind!r}, which "
                           "may state nothing")
        rule = spec_for(envelope.type).authority
        problem = author_refusal(envelope.type, rule, speaker) or subject_refusal(
            envelope.type, rule, envelope.body, speaker)
        if problem is not None:
            return Refusal(problem)
        # A provisioned device counts only once its self-test passed: no half-made device can
        # look fine. An honest device meets this too, so what it may state is held back, not alarmed.
        pending = selftest_pending(sender.registered, envelope.type)
        return Refusal(pending, alarm=False) if pending is not None else None

    # --- inside the storing transaction -----------------------------------------------------

    def admit(self, context: HandlerContext, event: AcceptedEvent) -> AcceptedEvent | Refusal:
        """What the events before this one decide: the window's visit, the window's login."""
        envelope = event.envelope
        about = spec_for(envelope.type).authority.about
        if about is About.SERVED_VISIT:
            return self._served_visit(context, event)
        if about is About.UNIT_CASES:
            return self._case_fact(context, event)
        return event

    def _served_visit(self, context: HandlerContext, event: AcceptedEvent) -> AcceptedEvent | Refusal:
        body, window = event.envelope.body, self._window(event)
        if window is None:
            return Refusal(f"{event.envelope.device} serves no window")
        if queue_store.visit_at_window(context.tx, body["day"], body["ticket"], window) is None:
            return Refusal(f"ticket {body['ticket']} of {body['day']} was not called at window {window}")
        return event

    def _case_fact(self, context: HandlerContext, event: AcceptedEvent) -> AcceptedEvent | Refusal:
        envelope = event.envelope
        window = self._window(event)
        if window is None:
            return Refusal(f"{envelope.device} serves no window: it may not state {envelope.type}")
        officer = queue_store.load_window(context.tx, window).officer
        unit = self.registry.units().or_else(self.configured_units).unit_of(officer, window)
        speaker = Speaker(Author.CALLER, envelope.device, self.hall, window, officer,
                          frozenset({unit}) if unit is not None else None)
        # The gateway keeps no case records: the case's own hall and unit are central's to check.
        problem = case_refusal(envelope.type, envelope.body, speaker, scope=None)
        if problem is not None:
            return Refusal(problem)
        return event.restamped(officer=officer, unit=unit)

    @staticmethod
    def _window(event: AcceptedEvent) -> str | None:
        """The window the gateway stamped (`check` let only window-bound authors through)."""
        recv = event.envelope.recv
        return recv.window if recv is not None else None
