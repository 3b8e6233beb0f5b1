"""The rating terminal's configuration (TOML): keypad, rating rules, lamps and buzzer.

Every key is documented in docs/rating.md.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from contract.events.rating import Grade
from edge.runtime.agent import AgentConfig, trial_sections
from edge.runtime.hardware.settings import (
    IndicatorSettings,
    KeypadSettings,
    check_lamp_names,
    console_indicator,
)
from spine.config import Section

LAMPS = ("please_rate", "reason", "thanks", "fault")
"""The terminal's lamps (`[indicator] lamps` may give each a pin); see lamps.py for when each is lit."""


class ReasonOption(Section):
    """One reason key offered after a bad grade."""

    key: str = Field(description="the key name that chooses it")
    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1, max_length=80)


def _default_reasons() -> list[ReasonOption]:
    return [
        ReasonOption(key="1", code="attitude", label="服务态度差"),
        ReasonOption(key="2", code="efficiency", label="办事效率低"),
        ReasonOption(key="3", code="repeated_trips", label="多次跑、材料反复要求"),
        ReasonOption(key="4", code="unclear_guidance", label="告知不清楚"),
        ReasonOption(key="5", code="other", label="其他"),
    ]


class RatingRules(Section):
    """How a terminal turns keys into one rating per visit."""

    grades: dict[str, Grade] = Field(
        default_factory=lambda: {
            "1": Grade.VERY_SATISFIED, "2": Grade.SATISFIED, "3": Grade.BASICALLY_SATISFIED,
            "4": Grade.DISSATISFIED, "5": Grade.VERY_DISSATISFIED,
        },
        description="key name -> grade; every grade needs exactly one key",
    )
    reasons: list[ReasonOption] = Field(
        default_factory=_default_reasons, description="reason keys offered after a bad grade"
    )
    please_rate_key: str = Field(
        "please_rate", description="the officer's key that asks for a rating (works offline)"
    )
    arm_window_s: float = Field(10.0, gt=0, le=600, description="time to press a grade, else not rated")
    reason_window_s: float = Field(15.0, gt=0, le=600, description="time to choose a reason")
    thanks_s: float = Field(3.0, ge=0, le=60, description="how long 'thank you' shows")
    mash_ms: int = Field(
        600, ge=0, le=5000,
        description="presses this soon after the counted one are mashing (never a reason or a rating)",
    )
    arm_max_age_s: float = Field(
        60.0, gt=0,
        description="an arm command older than this when it arrives (the terminal was offline) "
        "is ignored: the citizen has gone",
    )

    @model_validator(mode="after")
    def _consistent(self) -> RatingRules:
        problems = []
        missing = set(Grade) - set(self.grades.values())
        if missing or len(self.grades) != len(Grade):
            problems.append(f"grades must map one key to each of the five grades (missing {sorted(missing)})")
        if self.please_rate_key in self.grades:
            problems.append("please_rate_key must not be a grade key")
        keys = [reason.key for reason in self.reasons]
        if len(set(keys)) != len(keys):
            problems.append("two reasons share a key")
        if not self.reasons:
            problems.append("at least one reason is needed for bad grades")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class RatingTerminalConfig(AgentConfig):
    """`hall rating run --config FILE`."""

    # A one-machine trial: window 1; the terminal is the citizen's keypad (`1`..`5` grade a
    # visit; `r` is the officer's please-rate key).
    trial_defaults = {
        **trial_sections("rating-w1", "rating", window="1"),
        "keypad": {"kind": "console", "keys": {**{str(k): str(k) for k in range(1, 6)},
                                               "r": "please_rate"}},
    }

    keypad: KeypadSettings = Field(description="the citizen's keys (and the officer's please-rate key)")
    rating: RatingRules = Field(default_factory=lambda: RatingRules.model_validate({}))
    indicator: IndicatorSettings = Field(
        default_factory=console_indicator,
        description="lamps please_rate, reason, thanks, fault and a buzzer (docs/keypads.md)",
    )

    @model_validator(mode="after")
    def _known_lamps(self) -> RatingTerminalConfig:
        check_lamp_names(self.indicator, LAMPS)
        return self
