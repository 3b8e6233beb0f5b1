"""Every event type and command the system knows, looked up by name.

Importing this module imports every domain's events and commands, which
register themselves in `contract.registry`; the registry itself imports no
domain, so there is no cycle between the registry and what it registers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

import contract.commands  # noqa: F401  (registers every command)
import contract.events  # noqa: F401  (registers every event type)
from contract.registry import (
    _COMMANDS,
    _SPECS,
    CommandBody,
    EventSpec,
    UnknownCommand,
    UnknownEventType,
)


def spec_for(name: str) -> EventSpec:
    try:
        return _SPECS[name]
    except KeyError:
        raise UnknownEventType(f"unknown event type {name!r}") from None


def all_specs() -> Mapping[str, EventSpec]:
    return dict(_SPECS)


def validate_body(name: str, body: Mapping[str, Any]) -> BaseModel:
    """The body as its typed model; raises UnknownEventType or pydantic's ValidationError."""
    return spec_for(name).body.model_validate(body)


def command_model(name: str) -> type[CommandBody]:
    try:
        return _COMMANDS[name]
    except KeyError:
        raise UnknownCommand(f"unknown command {name!r}") from None


def all_commands() -> Mapping[str, type[CommandBody]]:
    return dict(_COMMANDS)


def parse_command(raw: Mapping[str, Any]) -> CommandBody:
    """The typed command a decoded payload names; raises UnknownCommand or ValidationError."""
    return command_model(str(raw.get("command"))).model_validate(raw)
