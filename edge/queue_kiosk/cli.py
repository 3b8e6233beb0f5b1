"""`hall kiosk ...`: run and check the kiosk agent."""

from __future__ import annotations

import click


@click.group(name="kiosk")
def kiosk() -> None:
    """The kiosk agent."""
