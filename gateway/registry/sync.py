"""The gateway's `registry.sync` command: central's hall registry, applied whole.

It is applied in the gateway's store (state changes recorded for central),
then the broker's password file and ACL are rewritten and the broker told to
reread them, then each changed device configuration is republished, retained.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contract.commands.registry import HallState
from contract.topics import Channel, device_topic
from gateway.registry.handler import transition_body
from gateway.registry.store import DeviceRegistry
from spine.broker.access import hall_accounts
from spine.broker.security import BrokerReload, write_access_files
from spine.handlers import HandlerContext

log = logging.getLogger(__name__)

RunInTransaction = Callable[[Callable[[HandlerContext], Any]], Any]
Publish = Callable[[str, str, bool], None]


class RegistrySync:
    """Carries out `registry.sync` (contract.commands.registry.HallState) for one hall."""

    def __init__(self, hall: str, registry: DeviceRegistry, run_in_transaction: RunInTransaction,
                 publish: Publish, broker_dir: Path, reload: BrokerReload) -> None:
        self.hall = hall
        self.registry = registry
        self.run_in_transaction = run_in_transaction
        self.publish = publish
        self.broker_dir = broker_dir
        self.reload = reload
        self._lock = threading.Lock()

    def __call__(self, state: HallState) -> None:
        if state.hall != self.hall:
            log.error("ignoring a registry sync for hall %s (this gateway serves %s)", state.hall, self.hall)
            return
        with self._lock:
            if self.apply(state):
                log.info("registry version %d applied: %s", state.version, state.summary()["devices"])

    def apply(self, state: HallState) -> bool:
        """False when a newer version is already applied (a late or repeated sync)."""
        applied = self.registry.sync_version()
        if state.version < applied:
            log.warning("ignoring registry version %d: version %d is already applied", state.version, applied)
            return False

        def work(context: HandlerContext) -> list[str]:
            transitions, republish = self.registry.apply_state(context.tx, state, context.now_ms)
            for transition in transitions:
                context.emit("device.state_changed", transition_body(transition))
            return republish

        republish: list[str] = self.run_in_transaction(work)
        # Access files after the registry: a device the gateway refuses may still be
        # connected for a moment, never the other way round.
        write_access_files(self.broker_dir, hall_accounts(state))
        self.reload()
        for device in republish:
            config = self.registry.config_payload(device)
            self.publish(device_topic(self.hall, device, Channel.CONFIG), config, True)
        return True
