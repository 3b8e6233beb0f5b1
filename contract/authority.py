"""Who may state each fact, and about whom: the authority half of every event type's declaration.

Each `@event_type(...)` names its `authors` (which kinds of device, the
gateway, central, or an API client may state it) and what they may state it
`about`. That declaration is the one table the gateway reads for its devices
and central reads again for its gateways (see docs/security.md); `hall device
schema` prints it. The checks below are the rules every node applies to it,
given a `Speaker` the node verified itself: a broker login and the registry at
the gateway, the gateway's receipt stamp and its hall's topic at central, a
token at central's API. Nothing in a fact's body ever names its own author.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from contract.kinds import DEVICE_AUTHORS, Author


class About(StrEnum):
    """What an author may state a fact about."""

    ITSELF = "itself"
    """Only itself: a body field naming a device names the author, a `kind` field its kind."""
    OWN_WINDOW = "own_window"
    """The window it serves: it must be registered to one, and a `window` field names that one."""
    SERVED_VISIT = "served_visit"
    """A visit its window is serving: its window, and a ticket called at that window."""
    OWN_HALL = "own_hall"
    """Its own hall (the gateway): a `hall` field names the gateway's hall."""
    UNIT_CASES = "unit_cases"
    """Cases of its hall and its unit: a window's logged-in officer's unit, or an API token's units."""
    ANY_CASE = "any_case"
    """Any case: what central's own engine issues (escalations, reminders)."""


@dataclass(frozen=True)
class Authority:
    """Who may state one event type, and about whom."""

    authors: frozenset[Author]
    about: About

    def allows(self, author: Author) -> bool:
        return author in self.authors

    def describe(self) -> str:
        """`kiosk, caller about its own window`: one line for `hall device schema` and the docs."""
        return f"{', '.join(sorted(a.value for a in self.authors))} about {ABOUT_WORDS[self.about]}"


ABOUT_WORDS = {
    About.ITSELF: "itself",
    About.OWN_WINDOW: "its own window",
    About.SERVED_VISIT: "the visit its window serves",
    About.OWN_HALL: "its own hall",
    About.UNIT_CASES: "cases of its hall and unit",
    About.ANY_CASE: "any case",
}


def authority(authors: Author | Iterable[Author], about: About) -> Authority:
    """The declaration `@event_type` takes apart: one author or several."""
    names = frozenset({authors} if isinstance(authors, Author) else authors)
    if not names:
        raise ValueError("an event type needs at least one author")
    return Authority(names, about)


@dataclass(frozen=True)
class Speaker:
    """Whoever states a fact, as the receiving node verified them (never as the fact says)."""

    author: Author
    id: str
    """The device id, the gateway id, or the API user's name."""
    hall: str | None = None
    """The hall it belongs to; None for an API client (its units bound it instead)."""
    window: str | None = None
    """The window a caller or a rating terminal serves."""
    officer: str | None = None
    """The officer logged in at that window when the fact was stored (callers' case facts)."""
    units: frozenset[str] | None = None
    """The units whose cases it may state facts of; None: any unit (the supervision office)."""


CaseScope = Callable[[str], "tuple[str, str] | None"]
"""case id -> (hall, unit) of a case the node keeps, None for a case it does not know."""

DEVICE_FIELDS = ("device", "terminal")
"""Body fields that name a device: in a device's own fact they can only name the device itself."""
CASE_ACCEPTED = "case.accepted"
CASE_CORRECTED = "case.corrected"


def author_refusal(name: str, rule: Authority, speaker: Speaker) -> str | None:
    """None when the speaker's kind may state `name` at all, else why not."""
    if rule.allows(speaker.author):
        return None
    allowed = ", ".join(sorted(a.value for a in rule.authors))
    return f"{_a(speaker.author.value)} may not state {name} (only {allowed})"


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def subject_refusal(name: str, rule: Authority, body: Mapping[str, Any], speaker: Speaker) -> str | None:
    """The checks of what a fact is about that need nothing but the fact and its verified speaker."""
    about = rule.about
    if about is About.ITSELF:
        for field in DEVICE_FIELDS:
            if field in body and body[field] != speaker.id:
                return f"{name} names {field} {body[field]!r}: {speaker.id} speaks only about itself"
        kind = body.get("kind")
        if speaker.author in DEVICE_AUTHORS and kind is not None and kind != speaker.author.value:
            return f"{speaker.id} is registered as {_a(speaker.author.value)}, not {_a(str(kind))}"
    elif about in (About.OWN_WINDOW, About.SERVED_VISIT):
        return window_refusal(name, body, speaker)
    elif about is About.OWN_HALL:
        hall = body.get("hall")
        if hall is not None and hall != speaker.hall:
            return f"{name} about hall {hall!r}: the gateway of {speaker.hall!r} speaks only for its own hall"
    elif about is About.UNIT_CASES and speaker.author is Author.CALLER:
        return window_refusal(name, {}, speaker)  # its officer is the one logged in at its window
    return None


def window_refusal(name: str, body: Mapping[str, Any], speaker: Speaker) -> str | None:
    """A window-bound device states facts only about the window it is registered for."""
    if speaker.window is None:
        return f"{speaker.id} serves no window: it may not state {name}"
    window = body.get("window")
    if window is not None and window != speaker.window:
        return f"registered for window {speaker.window}, not {window}"
    return None


def case_refusal(name: str, body: Mapping[str, Any], speaker: Speaker, scope: CaseScope | None) -> str | None:
    """Case facts only of the speaker's hall and units; a caller's only by its logged-in officer.

    `scope` finds a stored case's hall and unit; None at a node that keeps no
    case records (the gateway), which checks only what the fact itself says and
    leaves the case's own hall and unit to central.
    """
    if speaker.author is Author.CALLER:
        problem = _officer_refusal(body, speaker)
        if problem is not None:
            return problem
    if name == CASE_ACCEPTED:
        return _entry_refusal(body, speaker)
    case_id = str(body.get("case_id"))
    if scope is not None:
        found = scope(case_id)
        if found is None:
            return f"unknown case {case_id}: its entry must come first"
        problem = _scope_refusal(case_id, found[0], found[1], speaker)
        if problem is not None:
            return problem
    if name == CASE_CORRECTED:
        changes = body.get("changes") or {}
        if "hall" in changes or "unit" in changes:
            return _scope_refusal(case_id, changes.get("hall", speaker.hall), changes.get("unit"),
                                  speaker, moving=True)
    return None


def _officer_refusal(body: Mapping[str, Any], speaker: Speaker) -> str | None:
    if speaker.officer is None:
        return f"nobody is logged in at window {speaker.window}: a case fact needs the officer's login"
    if body.get("by") != speaker.officer:
        return (f"by {body.get('by')!r} is not the officer logged in at window {speaker.window} "
                f"({speaker.officer})")
    if not speaker.units:
        return f"the unit of officer {speaker.officer} is not known at this hall"
    return None


def _entry_refusal(body: Mapping[str, Any], speaker: Speaker) -> str | None:
    case_id = body.get("case_id")
    problem = _scope_refusal(str(case_id), body.get("hall"), body.get("unit"), speaker)
    if problem is not None:
        return problem
    if speaker.author is Author.CALLER:
        if body.get("window") not in (None, speaker.window):
            return f"case {case_id} names window {body.get('window')}: entered at window {speaker.window}"
        if body.get("officer_id") not in (None, speaker.officer):
            return (f"case {case_id} names officer {body.get('officer_id')}: "
                    f"{speaker.officer} is logged in at window {speaker.window}")
    return None


def _scope_refusal(case_id: str, hall: Any, unit: Any, speaker: Speaker, moving: bool = False) -> str | None:
    what = "moved to" if moving else "of"
    if speaker.hall is not None and hall != speaker.hall:
        return f"case {case_id} {what} hall {hall!r}: {speaker.id} speaks for hall {speaker.hall!r} only"
    if speaker.units is not None and unit is not None and unit not in speaker.units:
        return (f"case {case_id} {what} unit {unit!r}: {speaker.id} may state facts of "
                f"{', '.join(sorted(speaker.units)) or 'no unit'} only")
    if speaker.units is not None and unit is None and not moving:
        return f"case {case_id} names no unit"
    return None
