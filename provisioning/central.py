"""Central's side: the registry follows what the gateways report (a device passed its self-test).

A gateway records `device.state_changed` to `active` when a device's self-test passed; the
report reaches central's event log like any event. `RegistryActivations` applies such reports
to the registry: the device becomes active too, unless it has been given newer credentials
since (the report is about hardware that no longer holds that identity), or is no longer
waiting for its self-test. Which reports were read is kept in the registry itself, per event
log (`followed_logs`), in the transaction that applies them: a pass killed midway applies
nothing and is read again, and a report applied is never applied twice. Central's tick reads
the log forward (`central.followers`, wired in `hallwatch.roots`), so the reports stored by
any central process reach the registry, not only those of the process beside it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioning.model import DeviceState
from provisioning.registry import Registry, RegistryError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActivationReport:
    """A gateway's report that a device passed its self-test."""

    hall: str
    """The hall whose stream carried it (its gateway is trusted for that hall only)."""
    device: str
    credential_version: int | None
    reason: str
    reported_by: str
    event_id: str

    @classmethod
    def from_event(cls, hall: str, payload: str) -> ActivationReport | None:
        """The report a stored event (its envelope's JSON) makes, or None if it is no activation."""
        envelope: dict[str, Any] = json.loads(payload)
        body = envelope.get("body") or {}
        if envelope.get("type") != "device.state_changed" or body.get("state") != "active":
            return None
        version = body.get("credential_version")
        return cls(hall=hall, device=str(body.get("device")),
                   credential_version=version if isinstance(version, int) else None,
                   reason=str(body.get("reason")), reported_by=str(envelope.get("device")),
                   event_id=str(envelope.get("id")))


class RegistryActivations:
    """The registry file, as central's activation reports move it."""

    def __init__(self, registry_path: Path) -> None:
        self.registry = Registry(registry_path)

    def close(self) -> None:
        self.registry.close()

    def position(self, log_name: str) -> int:
        """How far the event log named `log_name` has been applied (0: not yet)."""
        with self.registry.transaction() as tx:
            row = tx.execute("SELECT position FROM followed_logs WHERE log = ?", (log_name,)).fetchone()
        return int(row[0]) if row else 0

    def apply(self, log_name: str, reports: Sequence[ActivationReport], position: int) -> int:
        """Apply `reports` and move the log's position to `position`, in one transaction; returns
        how many devices became active."""
        activated = 0
        with self.registry.transaction() as tx:
            for report in reports:
                activated += self._activate(tx, report)
            tx.execute("INSERT INTO followed_logs (log, position) VALUES (?, ?) ON CONFLICT (log)"
                       " DO UPDATE SET position = max(position, excluded.position)", (log_name, position))
        return activated

    def _activate(self, tx: sqlite3.Connection, report: ActivationReport) -> int:
        try:
            device = self.registry.device(report.device, tx)
        except RegistryError:
            log.warning("gateway of %s reported unknown device %s active", report.hall, report.device)
            return 0
        if device.hall != report.hall or device.state != DeviceState.PROVISIONED:
            return 0
        if report.credential_version is not None and report.credential_version != device.credential_version:
            log.info("ignoring %s's activation for credentials v%s (now v%d)", report.device,
                     report.credential_version, device.credential_version)
            return 0
        self.registry.set_state(tx, report.device, DeviceState.ACTIVE)
        self.registry.audit(tx, report.reported_by, "device.activate", report.device,
                            reason=report.reason, event=report.event_id)
        log.info("%s is active: its self-test passed at the gateway of %s", report.device, report.hall)
        return 1
