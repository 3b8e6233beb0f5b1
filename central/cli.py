"""`hall central ...`: run and query central."""

from __future__ import annotations

import click


@click.group(name="central")
def central() -> None:
    """Central supervision."""
