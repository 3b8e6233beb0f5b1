"""Central's side: the registry follows what the gateways report (a device passed its self-test).

`RegistryProjection` is a central handler (`CentralService(handlers=[...])`):
when a gateway records `device.state_changed` to `active`, central's registry
marks the device active too, unless it has issued newer credentials since
(the report is about hardware that no longer holds that identity).
"""

from __future__ import annotations

import logging
from pathlib import Path

from provisioning.model import DeviceState
from provisioning.registry import Registry, RegistryError
from spine.handlers import HandlerContext
from spine.receiver import AcceptedEvent

log = logging.getLogger(__name__)


class RegistryProjection:
    def __init__(self, registry_path: Path) -> None:
        self.registry = Registry(registry_path)

    def handle(self, context: HandlerContext, event: AcceptedEvent) -> None:
        hall = context.hall
        envelope = event.envelope
        if envelope.type != "device.state_changed" or envelope.body.get("state") != "active":
            return
        device_id = str(envelope.body.get("device"))
        try:
            device = self.registry.device(device_id)
        except RegistryError:
            log.warning("gateway of %s reported unknown device %s active", hall, device_id)
            return
        reported = envelope.body.get("credential_version")
        if device.hall != hall or device.state != DeviceState.PROVISIONED:
            return
        if reported is not None and reported != device.credential_version:
            log.info("ignoring %s's activation for credentials v%s (now v%d)", device_id, reported,
                     device.credential_version)
            return
        # Central's registry is another file: its write commits on its own, and repeats harmlessly.
        with self.registry.transaction() as registry_tx:
            self.registry.set_state(registry_tx, device_id, DeviceState.ACTIVE)
            self.registry.audit(registry_tx, envelope.device, "device.activate", device_id,
                                reason=str(envelope.body.get("reason")), event=envelope.id)
        log.info("%s is active: its self-test passed at the gateway of %s", device_id, hall)
