"""What every edge agent's `hall <role> ...` commands share: load the TOML, open the keypad, run.

Errors a technician can fix (a wrong key, a missing keypad) end the command
with one message and exit status 1, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import BaseModel

from spine.config import ConfigError, load_config

Model = TypeVar("Model", bound=BaseModel)
Part = TypeVar("Part")

CONFIG_PATH = click.Path(path_type=Path)
TRIAL = "; without it, a one-machine trial (examples/)"
"""Said by every agent's `--config`: left out, the role's embedded defaults apply."""


def load_agent_config(model: type[Model], path: Path | None) -> Model:
    """The agent's configuration (without a path, the one-machine trial's embedded defaults), or
    every wrong key as one command-line error."""
    try:
        return load_config(model, path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def open_hardware(build: Callable[[], Part]) -> Part:
    """`build()`, with a keypad, lamp or pin factory that cannot be opened as a command-line error."""
    from edge.runtime.hardware.factory import HardwareUnavailable

    try:
        return build()
    except HardwareUnavailable as exc:
        raise click.ClickException(str(exc)) from exc


def open_keypad(settings: Any, *, source: str | None = None) -> Any:
    """The keypad the `[keypad]` section asks for (None without one), or a command-line error."""
    if settings is None:
        return None
    from edge.runtime.hardware.factory import build_keypad

    return open_hardware(lambda: build_keypad(settings, source=source))



