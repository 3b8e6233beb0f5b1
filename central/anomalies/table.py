"""The anomaly rule table: each rule's name, detector, risk, who is told, and its explanation.

Configuration, not code (TOML, like the countdown's rule table): the shipped
`rules.toml` beside this module holds the starter rules; an operator copies
it, edits it and names the copy in central's `[anomalies] rules`. A table is
checked whole when loaded, and every wrong key is named at once.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from central.anomalies.detectors import DETECTORS, Detector, Settings

DEFAULT_RULES = Path(__file__).with_name("rules.toml")
RULE_NAME = r"^[a-z][a-z0-9_]{1,47}$"


class RulesError(ValueError):
    """A rule table that cannot be used; the message names every wrong key."""


class Risk(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return (Risk.LOW, Risk.MEDIUM, Risk.HIGH).index(self)


class RuleSpec(BaseModel):
    """One rule: what a supervision office reads about it, and the detector that does the work."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(pattern=RULE_NAME)
    detector: str
    title: str = Field(min_length=1, max_length=40, description="a short name for screens (非工作时间受理)")
    risk: Risk
    notify: tuple[str, ...] = Field(min_length=1, description="who is told: supervision_office, unit_head, "
                                    "hall_manager, ...")
    explanation: str = Field(min_length=10, max_length=1000,
                             description="in plain words: what it found, and its innocent reasons")
    enabled: bool = True
    settings: Settings

    def build(self) -> Detector[Settings]:
        return DETECTORS[self.detector](self.name, self.settings)

    def describe(self) -> dict[str, Any]:
        """The rule as the API lists it."""
        return {"name": self.name, "detector": self.detector, "title": self.title, "risk": self.risk.value,
                "notify": list(self.notify), "explanation": self.explanation, "enabled": self.enabled,
                "settings": self.settings.model_dump(mode="json")}


_FIXED = ("detector", "title", "risk", "notify", "explanation", "enabled")


class AnomalyRules:
    """Every rule of a table, by name, in the table's order."""

    def __init__(self, rules: list[RuleSpec]) -> None:
        self.rules = {rule.name: rule for rule in rules}

    def __iter__(self) -> Iterator[RuleSpec]:
        return iter(self.rules.values())

    def enabled(self) -> list[RuleSpec]:
        return [rule for rule in self.rules.values() if rule.enabled]

    def get(self, name: str) -> RuleSpec:
        try:
            return self.rules[name]
        except KeyError:
            raise RulesError(f"no rule {name!r}; one of {sorted(self.rules)}") from None

    @classmethod
    def load(cls, path: Path | None = None) -> AnomalyRules:
        path = path or DEFAULT_RULES
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise RulesError(f"{path}: {error}") from error
        return cls.from_mapping(data, str(path))

    @classmethod
    def from_mapping(cls, data: dict[str, Any], where: str = "rules") -> AnomalyRules:
        problems: list[str] = []
        rules: list[RuleSpec] = []
        unknown = sorted(set(data) - {"rules"})
        if unknown:
            problems.append(f"{', '.join(unknown)}: unknown section (rules are [rules.<name>])")
        table = data.get("rules", {})
        if not isinstance(table, dict) or not table:
            problems.append("rules: no rule in the table")
            table = {}
        for name, raw in table.items():
            rule = _rule(name, raw, problems)
            if rule is not None:
                rules.append(rule)
        if problems:
            raise RulesError(f"{where}: " + "; ".join(problems))
        return cls(rules)


def _rule(name: str, raw: Any, problems: list[str]) -> RuleSpec | None:
    if not isinstance(raw, dict):
        problems.append(f"rules.{name}: a rule is a table")
        return None
    detector = DETECTORS.get(str(raw.get("detector")))
    if detector is None:
        problems.append(f"rules.{name}.detector: {raw.get('detector')!r} is not a detector; one of "
                        f"{sorted(DETECTORS)}")
        return None
    fixed = {key: raw[key] for key in _FIXED if key in raw}
    tunables = {key: value for key, value in raw.items() if key not in _FIXED}
    settings: Settings | None = None
    try:
        settings = detector.settings_model.model_validate(tunables)
    except ValidationError as error:
        problems.extend(_named(f"rules.{name}", error))
    try:  # the rule's own keys are checked too, so every mistake is named at once
        rule = RuleSpec.model_validate({"name": name, **fixed, "settings": settings or Settings()})
    except ValidationError as error:
        problems.extend(_named(f"rules.{name}", error))
        return None
    return rule if settings is not None else None


def _named(prefix: str, error: ValidationError) -> list[str]:
    return [f"{'.'.join([prefix, *(str(p) for p in e['loc'])])}: {e['msg']}" for e in error.errors()]


_default: AnomalyRules | None = None


def default_rules() -> AnomalyRules:
    """The shipped starter rules, loaded once."""
    global _default
    if _default is None:
        _default = AnomalyRules.load()
    return _default
