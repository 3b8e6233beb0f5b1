"""The texts: Chinese templates an operator can edit, with the embedded ones as defaults.

A template file is checked completely at start-up (unknown keys, names a
template may not use, broken braces), because a wrong text found at send time
would fail a citizen's notice at night, when nobody is watching.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from central.sms.planning import Recipient
from spine.config import ConfigError

_CASE = {"case_id"}
ALLOWED_NAMES: Mapping[str, frozenset[str]] = {
    "case.accepted": frozenset(_CASE | {"matter", "limit", "limit_unit", "accepted_day", "due_day"}),
    "case.accepted_no_due": frozenset(_CASE | {"matter", "limit", "limit_unit", "accepted_day"}),
    "case.suspended": frozenset(_CASE | {"day", "reason"}),
    "case.resumed": frozenset(_CASE | {"day"}),
    "case.completed": frozenset(_CASE | {"day"}),
    "case.reminder.yellow_light": frozenset(_CASE | {"officer_name", "unit", "due_day"}),
    "case.reminder.unconfirmed_completion": frozenset(_CASE | {"officer_name", "unit", "due_day"}),
    "complaint.received": frozenset({"complaint", "due_day"}),
    "complaint.received_no_due": frozenset({"complaint"}),
    "complaint.answered": frozenset({"complaint"}),
    "booking.confirmed": frozenset({"code", "matter", "day", "time", "hall_name", "reason"}),
    "booking.cancelled": frozenset({"code", "matter", "day", "time", "hall_name", "reason"}),
    "rating.followup": frozenset({"unit", "window", "grade", "due_day"}),
}
"""Every template key and the values the planner gives it (see `planning.plan`)."""


def safe_text(text: str) -> str:
    """Text that survives Gammu's Unicode encoding: its Nokia mapping turns '~' into U+0001."""
    return text.replace("~", "～")


@dataclass(frozen=True)
class TemplateBook:
    """The signature, the opt-out hint and one text per template key."""

    signature: str
    opt_out_hint: str
    texts: Mapping[str, str]

    def render(self, template: str, values: Mapping[str, str], recipient: Recipient) -> str:
        """The message as the phone shows it: signature, text, and the opt-out hint for citizens."""
        body = self.texts[template].format_map(dict(values))
        hint = self.opt_out_hint if recipient is Recipient.CITIZEN else ""
        return safe_text(f"{self.signature}{body}{hint}")

    @classmethod
    def load(cls, path: Path | None = None, *, signature: str | None = None) -> TemplateBook:
        """The embedded templates, overlaid with an operator's file; every problem listed at once."""
        defaults = _parse(resources.files("central.sms").joinpath("templates.toml").read_text("utf-8"))
        data: dict[str, Any] = {"templates": {}}
        source = "embedded templates"
        if path is not None:
            source = str(path)
            try:
                data = tomllib.loads(Path(path).read_text("utf-8"))
            except FileNotFoundError as exc:
                raise ConfigError(f"{source}: no such templates file") from exc
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
        problems = _problems(data)
        if problems:
            raise ConfigError(f"{source}: {len(problems)} problem(s) in the SMS templates:\n"
                              + "\n".join(f"  - {p}" for p in problems))
        texts = dict(defaults["templates"])
        texts.update(data.get("templates", {}))
        return cls(
            signature=signature if signature is not None else data.get("signature", defaults["signature"]),
            opt_out_hint=data.get("opt_out_hint", defaults["opt_out_hint"]),
            texts=texts,
        )


def _parse(text: str) -> dict[str, Any]:
    data = tomllib.loads(text)
    problems = _problems(data)
    if problems or set(data["templates"]) != set(ALLOWED_NAMES):
        raise RuntimeError(f"the embedded SMS templates are broken: {problems}")
    return data


def _problems(data: Mapping[str, Any]) -> list[str]:
    problems = [f"{key}: unknown key (signature, opt_out_hint, templates)"
                for key in data if key not in ("signature", "opt_out_hint", "templates")]
    for key in ("signature", "opt_out_hint"):
        if key in data and not isinstance(data[key], str):
            problems.append(f"{key}: must be text")
    templates = data.get("templates", {})
    if not isinstance(templates, dict):
        return [*problems, "templates: must be a table of key = text"]
    for key, text in templates.items():
        if key not in ALLOWED_NAMES:
            problems.append(f"templates.{key}: unknown template (known: {', '.join(sorted(ALLOWED_NAMES))})")
            continue
        if not isinstance(text, str) or not text.strip():
            problems.append(f"templates.{key}: must be a non-empty text")
            continue
        try:
            names = {name for _, name, spec, conv in string.Formatter().parse(text) if name is not None}
        except ValueError as exc:
            problems.append(f"templates.{key}: broken braces ({exc}); write {{{{ or }}}} for a brace")
            continue
        for name in sorted(names - ALLOWED_NAMES[key]):
            allowed = ", ".join("{" + n + "}" for n in sorted(ALLOWED_NAMES[key]))
            problems.append(f"templates.{key}: unknown name {{{name}}} (this template may use {allowed})")
    return problems
