"""Role groups that need parts of other roles: composed here, at the top, where every floor is visible.

Central may not import provisioning; yet central's registry follows the
gateways' activation reports when a provisioning registry is configured.
The composition root hands central that handler.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from central.cli import central_commands
from central.config import CentralConfig
from central.store import CentralHandler


def registry_handlers(config: CentralConfig) -> Sequence[CentralHandler]:
    """Provisioning's registry projection, when central's configuration names a registry."""
    if config.provisioning_registry is None:
        return []
    from provisioning.central import RegistryProjection

    return [RegistryProjection(config.provisioning_registry)]


central: click.Group = central_commands(registry_handlers)
