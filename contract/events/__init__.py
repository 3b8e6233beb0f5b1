"""Event types by domain; importing this package registers all of them."""

from contract.events import (  # noqa: F401
    cases,
    provisioning,
    queue,
    rating,
    recorder,
    security,
    spine,
)
