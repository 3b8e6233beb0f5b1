"""The table of discretionary standards: for each matter, each circumstance and the range it allows.

Configuration, not code (TOML, like the countdown's rule table): the shipped
`standards.toml` beside this module is an example an operator copies and
edits, then names in central's `[discretion] standards`. Pure: no clock, no
storage. The case store measures every `case.decided` with `measure` before
it is logged, and logs the range that applied, so a later edit of the table
never changes what an earlier decision was measured against.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_STANDARDS = Path(__file__).with_name("standards.toml")


class StandardsError(ValueError):
    """A table that cannot be used; the message names every wrong key."""


class UnknownStandard(ValueError):
    """A decision on a matter or circumstance the table does not have: it cannot be measured."""


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Allowed(_Section):
    """What one circumstance allows: an amount from `min` to `max`, or one of `outcomes`."""

    min: float | None = Field(None, ge=0)
    max: float | None = Field(None, ge=0)
    outcomes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_kind(self) -> Allowed:
        amounts = self.min is not None or self.max is not None
        if amounts == bool(self.outcomes):
            raise ValueError("give a range (min, max) or a list of outcomes, one of the two")
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ValueError("max is below min")
        return self

    def describe(self, unit: str) -> str:
        if self.outcomes:
            return "、".join(self.outcomes)
        low = _number(self.min) if self.min is not None else "0"
        high = _number(self.max) if self.max is not None else "∞"
        return f"{low}–{high} {unit}".strip()

    def admits(self, amount: float | None, outcome: str | None) -> bool:
        if self.outcomes:
            return outcome is not None and outcome in self.outcomes
        if amount is None:
            return False
        return (self.min is None or amount >= self.min) and (self.max is None or amount <= self.max)


class MatterStandard(_Section):
    """One discretionary matter: its unit, its legal basis, and its circumstances."""

    unit: str = Field("元", max_length=20, description="the unit of amounts (元, 日, %)")
    basis: str = Field("", max_length=200, description="the legal basis, as the standard cites it")
    circumstances: dict[str, Allowed] = Field(min_length=1)


@dataclass(frozen=True)
class Measure:
    """A decision measured against the standard that applied when it was recorded."""

    within: bool
    standard: dict[str, Any]
    """What the standard allowed (`min`/`max` or `outcomes`, the unit, its words), as logged."""


class Standards(_Section):
    """Every discretionary matter an operator has a standard for."""

    matters: dict[str, MatterStandard] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> Standards:
        path = path or DEFAULT_STANDARDS
        try:
            return cls.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise StandardsError(f"{path}: {error}") from error
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in error.errors())
            raise StandardsError(f"{path}: {problems}") from error

    def measure(self, matter: str, circumstance: str, amount: float | None,
                outcome: str | None) -> Measure:
        """Whether the decision is within its circumstance's range; raises UnknownStandard for a
        matter or circumstance the table lacks (a decision that cannot be measured is refused,
        as a suspension for a reason the law does not know is)."""
        standard = self.matters.get(matter)
        if standard is None:
            raise UnknownStandard(f"{matter!r} has no discretionary standard; one of {sorted(self.matters)}")
        allowed = standard.circumstances.get(circumstance)
        if allowed is None:
            raise UnknownStandard(f"{circumstance!r} is not a circumstance of {matter!r}; one of "
                                  f"{sorted(standard.circumstances)}")
        if allowed.outcomes and amount is not None:
            raise UnknownStandard(f"{matter!r} / {circumstance!r} decides an outcome, not an amount")
        if not allowed.outcomes and outcome is not None:
            raise UnknownStandard(f"{matter!r} / {circumstance!r} decides an amount, not an outcome")
        logged: dict[str, Any] = {"unit": standard.unit, "allowed": allowed.describe(standard.unit)}
        if allowed.outcomes:
            logged["outcomes"] = list(allowed.outcomes)
        else:
            logged.update({"min": allowed.min, "max": allowed.max})
        return Measure(allowed.admits(amount, outcome), logged)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


_default: Standards | None = None


def default_standards() -> Standards:
    """The shipped example table, loaded once."""
    global _default
    if _default is None:
        _default = Standards.load()
    return _default
