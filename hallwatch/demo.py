"""`hall demo`: a simulated hall on embedded defaults."""

from __future__ import annotations

import click


@click.command(name="demo")
def demo() -> None:
    """Run a simulated hall end to end and print a summary."""
