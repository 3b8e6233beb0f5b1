"""`hall central ...`: run central and use its operator tools."""

from __future__ import annotations

import click

from central.cases.cli import register_case_commands


@click.group(name="central")
def central() -> None:
    """Central supervision."""


register_case_commands(central)
