"""The queue's rules: who is called next, and what each window action does to a visit. Pure.

Given the window, its current visit and the candidates, `decide()` returns the
changed visit and window, the facts to record (event type and body) and the
answer for the officer. No clock, no storage: the caller loads and saves.

Who is called next, for a window serving some services (oldest first in each rank):
0. appointments booked for this window's officer (or for this window);
1. green-channel tickets, and appointments whose booked officer is not logged in anywhere;
2. everyone else.
Appointments booked for an officer who is logged in at another window wait for them.
A transferred visit keeps its issue time, so it is near the front of its new queue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from contract.events.queue import WindowActionKind, WindowState


class VisitState(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    PARKED = "parked"
    SERVED = "served"
    NO_SHOW = "no_show"
    VOIDED = "voided"


@dataclass(frozen=True)
class Visit:
    key: int
    """The store's row id: two kiosks misconfigured into one slot may print the same label."""
    day: str
    ticket: str
    service: str
    state: VisitState
    issued_at: int
    waiting_since: int
    priority: bool = False
    appointment: str | None = None
    booked_officer: str | None = None
    booked_window: str | None = None
    window: str | None = None
    officer: str | None = None
    called_at: int | None = None
    first_called_at: int | None = None
    recalls: int = 0
    active_ms: int = 0
    """Time at windows before the current call (parked and transferred spells)."""


@dataclass(frozen=True)
class Window:
    id: str
    services: frozenset[str]
    officer: str | None = None
    state: WindowState = WindowState.CLOSED
    current: int | None = None
    """Key of the visit being served here."""


@dataclass(frozen=True)
class Action:
    kind: WindowActionKind
    at: int
    officer: str | None = None
    ticket: str | None = None
    service: str | None = None


@dataclass(frozen=True)
class Situation:
    """What the store loaded for one action."""

    window: Window
    current: Visit | None = None
    waiting: Sequence[Visit] = ()
    """Waiting visits of the window's services (for call_next)."""
    parked: Sequence[Visit] = ()
    """Visits parked at this window (for call_back)."""
    officers_elsewhere: frozenset[str] = frozenset()
    """Officers logged in at other open windows."""
    known_services: frozenset[str] = frozenset()


Fact = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Decision:
    ok: bool
    message: str
    window: Window
    visits: tuple[Visit, ...] = ()
    """Visits changed by the action, to be saved."""
    facts: tuple[Fact, ...] = ()
    called: Visit | None = None
    """Set when a ticket was (re)called: announce it."""


@dataclass(frozen=True)
class Limits:
    max_recalls: int = 2


def rank(visit: Visit, window: Window, officers_elsewhere: frozenset[str]) -> int | None:
    """0, 1 or 2 (see the module's docstring), or None when this window must not call it."""
    booked = visit.booked_officer
    if visit.appointment is not None:
        if (booked and booked == window.officer) or (visit.booked_window == window.id and not booked):
            return 0
        if booked and booked in officers_elsewhere:
            return None
        return 1
    return 1 if visit.priority else 2


def choose_next(situation: Situation) -> Visit | None:
    window = situation.window
    best: tuple[int, int, str] | None = None
    chosen: Visit | None = None
    for visit in situation.waiting:
        if visit.state is not VisitState.WAITING or visit.service not in window.services:
            continue
        order = rank(visit, window, situation.officers_elsewhere)
        if order is None:
            continue
        key = (order, visit.issued_at, visit.ticket)
        if best is None or key < best:
            best, chosen = key, visit
    return chosen


def decide(action: Action, situation: Situation, limits: Limits) -> Decision:
    handler = _HANDLERS.get(action.kind)
    if handler is None:
        return _no(situation, f"unknown action {action.kind}")
    return handler(action, situation, limits)


# --- the actions ----------------------------------------------------------------


def _hello(action: Action, s: Situation, _l: Limits) -> Decision:
    return Decision(True, _describe(s.window, s.current), s.window)


def _login(action: Action, s: Situation, _l: Limits) -> Decision:
    if not action.officer:
        return _no(s, "type your officer number, then Login")
    window = replace(s.window, officer=action.officer, state=WindowState.OPEN)
    return Decision(True, f"officer {action.officer} at window {window.id}", window,
                    facts=(_window_fact(window, action.at),))


def _logout(action: Action, s: Situation, _l: Limits) -> Decision:
    if s.current is not None:
        return _no(s, f"finish {s.current.ticket} first (complete, park, transfer or no-show)")
    window = replace(s.window, officer=None, state=WindowState.CLOSED)
    return Decision(True, "logged out", window, facts=(_window_fact(window, action.at),))


def _pause(action: Action, s: Situation, _l: Limits) -> Decision:
    if s.window.state is WindowState.CLOSED:
        return _no(s, "log in first")
    window = replace(s.window, state=WindowState.PAUSED)
    return Decision(True, "window paused: no calls until Resume", window,
                    facts=(_window_fact(window, action.at),))


def _resume(action: Action, s: Situation, _l: Limits) -> Decision:
    if s.window.state is WindowState.CLOSED:
        return _no(s, "log in first")
    window = replace(s.window, state=WindowState.OPEN)
    return Decision(True, "window open", window, facts=(_window_fact(window, action.at),))


def _call_next(action: Action, s: Situation, _l: Limits) -> Decision:
    refusal = _can_call(s)
    if refusal:
        return _no(s, refusal)
    visit = choose_next(s)
    if visit is None:
        return _no(s, "nobody is waiting for this window")
    return _call(action, s, visit, call_back=False)


def _call_back(action: Action, s: Situation, _l: Limits) -> Decision:
    refusal = _can_call(s)
    if refusal:
        return _no(s, refusal)
    parked = [v for v in s.parked if v.state is VisitState.PARKED and v.window == s.window.id]
    if action.ticket:
        parked = [v for v in parked if same_ticket(v.ticket, action.ticket)]
    if not parked:
        return _no(s, "no such parked ticket at this window")
    visit = min(parked, key=lambda v: (v.called_at or 0, v.ticket))
    return _call(action, s, visit, call_back=True)


def _call(action: Action, s: Situation, visit: Visit, call_back: bool) -> Decision:
    window = s.window
    called = replace(
        visit, state=VisitState.CALLED, window=window.id, officer=window.officer, called_at=action.at,
        first_called_at=visit.first_called_at or action.at, recalls=0,
    )
    fact = ("queue.called", _fact_body(called, action.at) | {
        "issued_at": visit.issued_at, "waiting_since": visit.waiting_since,
        "wait_ms": 0 if call_back else max(0, action.at - visit.waiting_since), "call_back": call_back,
    })
    window = replace(window, current=called.key)
    return Decision(True, f"calling {called.ticket}", window, (called,), (fact,), called)


def _recall(action: Action, s: Situation, limits: Limits) -> Decision:
    visit = s.current
    if visit is None or visit.state is not VisitState.CALLED:
        return _no(s, "no ticket is being called")
    if visit.recalls >= limits.max_recalls:
        return _no(s, f"{visit.ticket} was recalled {visit.recalls} times: mark no-show or call next")
    recalled = replace(visit, recalls=visit.recalls + 1)
    fact = ("queue.recalled", _fact_body(recalled, action.at) | {"recalls": recalled.recalls})
    return Decision(True, f"calling {visit.ticket} again ({recalled.recalls}/{limits.max_recalls})",
                    s.window, (recalled,), (fact,), recalled)


Rule = Callable[[Action, Situation, Limits], Decision]
VisitRule = Callable[[Action, Situation, Visit], Decision]


def _at_the_window(refusal: str) -> Callable[[VisitRule], Rule]:
    """A rule about the visit being served at the window; refused with `refusal` when there is none."""

    def rule_for(decide_for: VisitRule) -> Rule:
        def rule(action: Action, s: Situation, _l: Limits) -> Decision:
            return _no(s, refusal) if s.current is None else decide_for(action, s, s.current)

        return rule

    return rule_for


@_at_the_window("no ticket is being called")
def _no_show(action: Action, s: Situation, visit: Visit) -> Decision:
    gone = replace(visit, state=VisitState.NO_SHOW)
    fact = ("queue.no_show", _fact_body(gone, action.at) | {"called_at": visit.called_at or action.at})
    return _leaves(s, f"{visit.ticket} did not come", gone, fact)


@_at_the_window("no ticket to park")
def _park(action: Action, s: Situation, visit: Visit) -> Decision:
    parked = replace(visit, state=VisitState.PARKED, active_ms=_active_ms(visit, action.at))
    fact = ("queue.parked", _fact_body(parked, action.at) | {"active_ms": parked.active_ms})
    return _leaves(s, f"{visit.ticket} parked: Call back when they return", parked, fact)


@_at_the_window("no ticket to transfer")
def _transfer(action: Action, s: Situation, visit: Visit) -> Decision:
    target = action.service
    if not target or (s.known_services and target not in s.known_services):
        return _no(s, f"no service {target!r} to transfer to")
    if target == visit.service:
        return _no(s, f"{visit.ticket} is already in service {target}")
    active = _active_ms(visit, action.at)
    fact = ("queue.transferred", _fact_body(visit, action.at) | {"to_service": target, "active_ms": active})
    moved = replace(
        visit, service=target, state=VisitState.WAITING, waiting_since=action.at, window=None, officer=None,
        called_at=None, recalls=0, active_ms=active,
    )
    return _leaves(s, f"{visit.ticket} transferred to {target}", moved, fact)


@_at_the_window("no ticket to complete")
def _complete(action: Action, s: Situation, visit: Visit) -> Decision:
    done = replace(visit, state=VisitState.SERVED, active_ms=_active_ms(visit, action.at))
    fact = ("queue.served", _fact_body(done, action.at) | {
        "called_at": visit.called_at or action.at, "service_ms": done.active_ms,
    })
    return _leaves(s, f"{visit.ticket} served", done, fact)


_HANDLERS = {
    WindowActionKind.HELLO: _hello,
    WindowActionKind.LOGIN: _login,
    WindowActionKind.LOGOUT: _logout,
    WindowActionKind.PAUSE: _pause,
    WindowActionKind.RESUME: _resume,
    WindowActionKind.CALL_NEXT: _call_next,
    WindowActionKind.CALL_BACK: _call_back,
    WindowActionKind.RECALL: _recall,
    WindowActionKind.NO_SHOW: _no_show,
    WindowActionKind.PARK: _park,
    WindowActionKind.TRANSFER: _transfer,
    WindowActionKind.COMPLETE: _complete,
}

# Actions that summon a citizen: carried out only while fresh (see QueueSettings.action_ttl_s).
SUMMONING = frozenset({WindowActionKind.CALL_NEXT, WindowActionKind.RECALL, WindowActionKind.CALL_BACK})


# --- helpers -------------------------------------------------------------------------


def same_ticket(label: str, typed: str) -> bool:
    """'A007' matches 'A007', and '7' or '007' typed on a digits-only keypad."""
    if not typed.isdigit():
        return label == typed
    digits = label.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return digits.isdigit() and int(digits) == int(typed)


def _can_call(s: Situation) -> str | None:
    if s.window.state is WindowState.CLOSED or not s.window.officer:
        return "log in first"
    if s.window.state is WindowState.PAUSED:
        return "the window is paused: Resume first"
    if s.current is not None:
        return f"finish {s.current.ticket} first (complete, park, transfer or no-show)"
    return None


def _since(visit: Visit, at: int) -> int:
    return max(0, at - visit.called_at) if visit.called_at is not None else 0


def _active_ms(visit: Visit, at: int) -> int:
    """Time at windows so far: earlier spells and the current call up to `at`."""
    return visit.active_ms + _since(visit, at)


def _leaves(s: Situation, message: str, visit: Visit, fact: Fact) -> Decision:
    """The visit being served leaves the window (served, parked, gone, or sent to another service)."""
    return Decision(True, message, replace(s.window, current=None), (visit,), (fact,))


def _fact_body(visit: Visit, at: int) -> dict[str, Any]:
    return {"day": visit.day, "ticket": visit.ticket, "service": visit.service,
            "window": visit.window or "", "officer": visit.officer, "at": at}


def _window_fact(window: Window, at: int) -> Fact:
    return ("queue.window_changed", {"window": window.id, "officer": window.officer,
                                     "state": window.state, "at": at})


def _no(s: Situation, message: str) -> Decision:
    return Decision(False, message, s.window)


def _describe(window: Window, current: Visit | None) -> str:
    who = f"officer {window.officer}" if window.officer else "nobody logged in"
    serving = f", serving {current.ticket}" if current else ""
    return f"window {window.id}: {window.state}, {who}{serving}"


@dataclass
class BoardCounts:
    """One service's line on the hall board."""

    waiting: int = 0
    waiting_priority: int = 0
    issued: int = 0
    high: dict[int, int] = field(default_factory=dict)
