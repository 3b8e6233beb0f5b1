"""`hall gateway ...`: run the hall gateway."""

from __future__ import annotations

import click


@click.group(name="gateway")
def gateway() -> None:
    """The hall gateway."""
