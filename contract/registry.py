"""Every event type the system knows, with the schema of its body and whether it is essential.

Each domain declares its own types in `contract/events/<domain>.py`
with `@event_type(...)`; nothing else needs to change to add a type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

BodyT = TypeVar("BodyT", bound=type[BaseModel])


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


_SPECS: dict[str, EventSpec] = {}


class UnknownEventType(LookupError):
    pass


def event_type(name: str, *, essential: bool = True) -> Callable[[BodyT], BodyT]:
    """Class decorator: declare the body schema of event type `name`."""

    def register(model: BodyT) -> BodyT:
        if name in _SPECS and _SPECS[name].body is not model:
            raise ValueError(f"event type {name!r} declared twice")
        _SPECS[name] = EventSpec(name, model, essential)
        return model

    return register


def _load_all() -> None:
    # Importing the package registers every domain's types.
    import contract.events  # noqa: F401


def spec_for(name: str) -> EventSpec:
    _load_all()
    try:
        return _SPECS[name]
    except KeyError:
        raise UnknownEventType(f"unknown event type {name!r}") from None


def all_specs() -> Mapping[str, EventSpec]:
    _load_all()
    return dict(_SPECS)


def validate_body(name: str, body: Mapping[str, Any]) -> BaseModel:
    """The body as its typed model; raises UnknownEventType or pydantic's ValidationError."""
    return spec_for(name).body.model_validate(body)


def describe_error(error: ValidationError) -> str:
    """A one-line reason fit for a dead-letter row or a log line."""
    parts = []
    for item in error.errors()[:5]:
        key = ".".join(str(p) for p in item["loc"]) or "(root)"
        parts.append(f"{key}: {item['msg']}")
    more = error.error_count() - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
