"""`hall provision ...`: the technician's tool."""

from __future__ import annotations

import click


@click.group(name="provision")
def provision() -> None:
    """Provision halls, windows and devices."""
