"""Central trusts a gateway only for its own hall, and only for what the authority table lets it say.

The same table the gateway applies to its devices (`contract.authority`) is
applied again here, to what each gateway forwards:

- a batch on `central/<hall>/events` must come from that hall's gateway
  (`authorize`; the broker's ACL pins the topic to its login as well);
- the gateway's own facts (`envelope.device` is the gateway) must be ones a
  gateway may state, about its own hall;
- a device's fact must carry the gateway's receipt stamp, which names the
  author the gateway verified (kind, window; for case facts the logged-in
  officer and unit), and that author must be allowed to state it; no body
  field may say otherwise;
- a case fact from a window must be of a case of that hall and that officer's
  unit (`admit`, inside the storing transaction, once the batch's earlier case
  entries are in the case records).

A refusal is dead-lettered at central with its reason, and raised as an alarm.
"""

from __future__ import annotations

from collections.abc import Mapping

from contract.authority import About, CaseScope, Speaker, author_refusal, case_refusal, subject_refusal
from contract.catalog import spec_for
from contract.envelope import Batch, Envelope
from contract.kinds import DEVICE_AUTHORS, Author
from spine.handlers import HandlerContext
from spine.receiver import AcceptedEvent, Refusal


class HallTrust:
    """Central's receiver policy over the gateways' streams: `authorize`, `check`, `admit`."""

    def __init__(self, gateways: Mapping[str, str], case_scope: CaseScope | None = None) -> None:
        self.gateways = dict(gateways)
        """hall -> the only gateway allowed to speak for it; empty: any (the demo only)."""
        self.case_scope = case_scope
        """Where case facts are checked against the case records (None: central keeps none)."""

    def authorize(self, hall: str, batch: Batch) -> Refusal | None:
        expected = self.gateways.get(hall)
        if self.gateways and expected is None:
            return Refusal(f"unknown hall {hall!r}: add it to central's [ingest] halls")
        if expected is not None and batch.sender != expected:
            return Refusal(f"gateway {batch.sender!r} may not speak for hall {hall!r}")
        return None

    def speaker(self, hall: str, batch: Batch, envelope: Envelope) -> Speaker | Refusal:
        """Who stated it: the gateway itself, or the device its gateway's stamp vouches for."""
        gateway, recv = batch.sender, envelope.recv
        if recv is None:
            return Refusal(f"{envelope.type} of {envelope.device} carries no receipt stamp of {gateway}")
        if recv.by != gateway:
            return Refusal(f"{envelope.type} of {envelope.device} was stamped by {recv.by!r}, "
                           f"not by the gateway of hall {hall!r}")
        if envelope.device == gateway:
            if recv.kind not in (None, Author.GATEWAY):
                return Refusal(f"the gateway's own {envelope.type} is stamped as a {recv.kind}")
            return Speaker(Author.GATEWAY, gateway, hall)
        if recv.kind is None:
            return Refusal(f"{envelope.type} of {envelope.device} was forwarded without the author its "
                           "gateway verified (is the gateway older than central?)")
        if recv.kind not in DEVICE_AUTHORS:
            return Refusal(f"{envelope.type} of {envelope.device} is stamped as a {recv.kind}: a device "
                           f"event forwarded by {gateway} has a device's kind")
        return Speaker(recv.kind, envelope.device, hall, recv.window, recv.officer,
                       frozenset({recv.unit}) if recv.unit is not None else None)

    def check(self, hall: str, batch: Batch, envelope: Envelope) -> Refusal | None:
        speaker = self.speaker(hall, batch, envelope)
        if isinstance(speaker, Refusal):
            return speaker
        rule = spec_for(envelope.type).authority
        problem = author_refusal(envelope.type, rule, speaker) or subject_refusal(
            envelope.type, rule, envelope.body, speaker)
        return Refusal(problem) if problem is not None else None

    @staticmethod
    def judges(event: AcceptedEvent) -> bool:
        """Whether `admit` may refuse this event: only case facts (`CentralStore.judges`)."""
        return spec_for(event.envelope.type).authority.about is About.UNIT_CASES

    def admit(self, context: HandlerContext, event: AcceptedEvent) -> AcceptedEvent | Refusal:
        """Case facts against the case records, after the batch's earlier facts reached them."""
        envelope = event.envelope
        if not self.judges(event):
            return event
        recv = envelope.recv
        if recv is None or recv.kind is None:  # `check` refuses these first; stored some other way
            return Refusal(f"{envelope.type} of {envelope.device} names no author its gateway verified")
        speaker = Speaker(recv.kind, envelope.device, context.hall, recv.window, recv.officer,
                          frozenset({recv.unit}) if recv.unit is not None else None)
        problem = case_refusal(envelope.type, envelope.body, speaker, self.case_scope)
        return Refusal(problem) if problem is not None else event
