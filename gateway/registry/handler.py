"""Devices reporting on themselves: a passed self-test makes a provisioned device active,
and a configuration report says which version a device runs."""

from __future__ import annotations

import logging
from typing import Any

from contract.commands.provisioning import SelftestResult
from contract.topics import Channel, device_topic
from gateway.registry.store import DeviceRegistry, Transition, state_of
from spine.handlers import HandlerContext
from spine.receiver import AcceptedEvent

log = logging.getLogger(__name__)


def transition_body(t: Transition) -> dict[str, Any]:
    """The body of the `device.state_changed` the gateway records for central."""
    return {"device": t.device, "state": t.state, "previous": t.previous, "reason": t.reason,
            "credential_version": t.credential_version}


class RegistryHandler:
    """Gateway handler of `device.selftest` and `device.config_applied`."""

    def __init__(self, hall: str, registry: DeviceRegistry) -> None:
        self.hall = hall
        self.registry = registry

    def handle(self, context: HandlerContext, event: AcceptedEvent) -> None:
        envelope = event.envelope
        if envelope.type == "device.selftest":
            self._selftest(context, envelope.device, envelope.body)
        elif envelope.type == "device.config_applied" and envelope.body.get("applied"):
            self.registry.record_applied(context.tx, envelope.device, int(envelope.body["version"]),
                                         context.now_ms)

    def _selftest(self, context: HandlerContext, device: str, body: dict[str, Any]) -> None:
        transition = self.registry.selftest_transition(context.tx, device, body, context.now_ms)
        failed = [f"{s['name']}: {s['reason']}" for s in body.get("steps", []) if not s.get("passed")]
        if transition is not None:
            context.emit("device.state_changed", transition_body(transition))
            log.info("device %s passed its self-test: now active", device)
        elif body.get("passed"):
            log.info("device %s passed its self-test", device)
        else:
            log.warning("device %s FAILED its self-test: %s", device, "; ".join(failed) or "no reason given")
        reply = SelftestResult(device=device, passed=bool(body.get("passed")),
                               state=state_of(context.tx, device) or "unknown", failed=failed)
        context.publish_after_commit(device_topic(self.hall, device, Channel.CMD), reply.model_dump_json())
