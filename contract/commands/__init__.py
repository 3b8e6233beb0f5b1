"""Commands by domain; importing this package registers all of them (see contract.registry)."""

from contract.commands import (  # noqa: F401
    provisioning,
    queue,
    rating,
    recorder,
    registry,
)
