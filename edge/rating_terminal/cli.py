"""`hall rating ...`: run and check the rating agent."""

from __future__ import annotations

import click


@click.group(name="rating")
def rating() -> None:
    """The rating agent."""
