"""Role groups that need parts of other roles: composed here, at the top, where every floor is visible.

Central may not import provisioning; yet the provisioning registry follows the gateways'
activation reports in central's event log when central's configuration names the registry.
The composition root hands central that follower.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from central.anomalies.feeds import EventReads
from central.cli import central_commands
from central.config import CentralConfig
from central.followers import EventsOfTypes, LogFollower
from provisioning.central import ActivationReport, RegistryActivations

PAGE = 500
"""Events read per statement; a pass reads on until it has caught up."""


class RegistryFollower:
    """Provisioning's registry following the activation reports in central's event log."""

    name = "provisioning registry"

    def __init__(self, registry_path: Path, log_name: str) -> None:
        self.activations = RegistryActivations(registry_path)
        self.log_name = log_name
        """Which event log the registry's position is in (its store's URL, no password): a log
        moved to another database starts from its first event, which applies nothing twice."""

    def follow(self, events: EventReads) -> None:
        reports = EventsOfTypes(events, ["device.state_changed"])
        after = self.activations.position(self.log_name)
        while True:
            stored, position = reports.read(after, PAGE)
            activations = [report for event in stored
                           if (report := ActivationReport.from_event(event.hall, event.payload)) is not None]
            if position != after or activations:
                self.activations.apply(self.log_name, activations, position)
            if len(stored) < PAGE:
                return
            after = position


def registry_followers(config: CentralConfig) -> Sequence[LogFollower]:
    """Provisioning's registry follower, when central's configuration names a registry."""
    if config.provisioning_registry is None:
        return []
    return [RegistryFollower(config.provisioning_registry, str(config.event_store))]


central: click.Group = central_commands(registry_followers)
