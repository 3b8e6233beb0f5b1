"""The countdown rule table: stage offsets, escalations, legal suspension reasons, plausibility,
and how long the engine waits for a source's late facts.

Configuration, not code: the defaults live in `rules.toml` beside this module
and an operator passes another file to change them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from central.cases.stages import LADDER, Limit, LimitUnit, Stage

DEFAULT_RULES = Path(__file__).with_name("rules.toml")


class RulesError(ValueError):
    """A rule table that cannot be used; the message names every wrong key."""


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Ladder(_Section):
    """Stage offsets in working days relative to the due day (red light = 0)."""

    yellow_light: int = -1
    red_light: int = 0
    yellow_card: int = 1
    red_card: int = 2
    supervision_letter: int = 3

    @model_validator(mode="after")
    def _increasing(self) -> Ladder:
        offsets = [self.offset(stage) for stage in LADDER]
        if any(b <= a for a, b in zip(offsets, offsets[1:], strict=False)):
            raise ValueError("ladder offsets must strictly increase from yellow_light to letter")
        return self

    def offset(self, stage: Stage) -> int:
        return int(getattr(self, stage.value))

    @property
    def offsets(self) -> tuple[int, ...]:
        """Offsets in ladder order (computed once: the engine asks for every case)."""
        cached = self.__dict__.get("_offsets")
        if cached is None:
            cached = tuple(self.offset(stage) for stage in LADDER)
            # A derived value of a frozen model: store it beside the fields once.
            self.__dict__["_offsets"] = cached
        return cached


class Plausibility(_Section):
    future_tolerance_s: int = Field(default=300, ge=0)
    late_entry_days: int = Field(default=3, ge=0)
    application_gap_days: int = Field(default=60, ge=1)
    limit_factor: float = Field(default=2.0, gt=1.0)


class Watermarks(_Section):
    """How the engine waits for facts that reach central late (see `central.cases.sources`)."""

    grace_s: int = Field(default=900, ge=0)
    """A fact may reach its source's stream this long after its own instant (an officer
    clicking "done" at 23:58 whose system sends it at 00:05): an escalation at T waits until
    the source is known complete up to T plus this."""
    behind_after_s: int = Field(default=120, ge=0)
    """A source whose watermark lags the clock by more than this is behind: its data are
    shown as incomplete since the watermark, and what it holds back is issued late."""


class MatterLimit(_Section):
    amount: int = Field(ge=1)
    unit: LimitUnit = LimitUnit.WORKDAYS

    def as_limit(self) -> Limit:
        return Limit(self.amount, self.unit)


class RuleTable(_Section):
    """Everything about the countdown that an operator may change."""

    ladder: Ladder = Ladder()
    escalations: tuple[Stage, ...] = (
        Stage.YELLOW_CARD,
        Stage.RED_CARD,
        Stage.SUPERVISION_LETTER,
    )
    suspension_reasons: tuple[str, ...] = ("hearing", "expert_review", "inspection", "testing")
    plausibility: Plausibility = Plausibility()
    watermark: Watermarks = Watermarks()
    matters: dict[str, MatterLimit] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _escalations_are_ladder_stages(self) -> RuleTable:
        wrong = [s.value for s in self.escalations if s not in LADDER]
        if wrong:
            raise ValueError(f"escalations must be ladder stages, not {wrong}")
        return self

    @classmethod
    def load(cls, path: Path | None = None) -> RuleTable:
        path = path or DEFAULT_RULES
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            return cls.model_validate(data)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise RulesError(f"{path}: {error}") from error
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
                for e in error.errors()
            )
            raise RulesError(f"{path}: {problems}") from error

    def usual_limit(self, matter: str) -> Limit | None:
        known = self.matters.get(matter)
        return known.as_limit() if known else None


_default: RuleTable | None = None


def default_rules() -> RuleTable:
    """The shipped rule table, loaded once."""
    global _default
    if _default is None:
        _default = RuleTable.load()
    return _default
