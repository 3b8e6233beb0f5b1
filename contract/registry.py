"""Every event type and every command the system knows, each with the schema of its body.

Events flow up (device -> gateway -> central); each domain declares its types
in `contract/events/<domain>.py` with `@event_type(...)`. Commands flow down
(central -> gateway -> device, and gateway -> device); each domain declares
them in `contract/commands/<domain>.py` with `@command_type(...)`. Both sides
of the wire import the same model, so a message is defined exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar, get_args

from pydantic import BaseModel, ConfigDict, ValidationError

from contract.authority import About, Authority, authority
from contract.kinds import Author

BodyT = TypeVar("BodyT", bound=type[BaseModel])
CommandT = TypeVar("CommandT", bound="type[CommandBody]")


class Body(BaseModel):
    """Base of every event body: frozen, unknown fields are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class EventSpec:
    name: str
    body: type[BaseModel]
    essential: bool
    """Essential events (tickets, ratings, cases) are never dropped for space;
    routine telemetry may be, counted and reported."""
    authority: Authority
    """Who may state it, and about whom (`contract.authority`): read by the gateway and by central."""


_SPECS: dict[str, EventSpec] = {}


class UnknownEventType(LookupError):
    pass


def event_type(
    name: str, *, authors: Author | Iterable[Author], about: About, essential: bool = True
) -> Callable[[BodyT], BodyT]:
    """Class decorator: declare the body schema of event type `name`, and who may state it
    about whom. The authority is required, so no type can be declared without it."""
    rule = authority(authors, about)

    def register(model: BodyT) -> BodyT:
        if name in _SPECS and _SPECS[name].body is not model:
            raise ValueError(f"event type {name!r} declared twice")
        _SPECS[name] = EventSpec(name, model, essential, rule)
        return model

    return register


def describe_error(error: ValidationError) -> str:
    """A one-line reason fit for a dead-letter row or a log line."""
    parts = []
    for item in error.errors()[:5]:
        key = ".".join(str(p) for p in item["loc"]) or "(root)"
        parts.append(f"{key}: {item['msg']}")
    more = error.error_count() - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


class CommandBody(BaseModel):
    """Base of every command: frozen, unknown fields are errors, and a `command` field
    whose only value is the command's name (declared as a Literal by each model)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


_COMMANDS: dict[str, type[CommandBody]] = {}


class UnknownCommand(LookupError):
    pass


def command_type(name: str) -> Callable[[CommandT], CommandT]:
    """Class decorator: declare the model of command `name`.

    The model's `command` field must be `Literal[name]` with that default, so a
    payload names itself and a model cannot be published under another name.
    """

    def register(model: CommandT) -> CommandT:
        field = model.__pydantic_fields__.get("command")
        if field is None or get_args(field.annotation) != (name,) or field.default != name:
            raise TypeError(f"{model.__name__}.command must be Literal[{name!r}] = {name!r}")
        if name in _COMMANDS and _COMMANDS[name] is not model:
            raise ValueError(f"command {name!r} declared twice")
        _COMMANDS[name] = model
        return model

    return register
