"""Operator commands for cases: deadline calculator, verify, import."""

from __future__ import annotations

import click


def register_case_commands(group: click.Group) -> None:
    """Add the case commands (`deadline`, `verify`, ...) to `hall central`."""
