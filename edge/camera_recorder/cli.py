"""`hall recorder ...`: run and check the recorder agent."""

from __future__ import annotations

import click


@click.group(name="recorder")
def recorder() -> None:
    """The recorder agent."""
