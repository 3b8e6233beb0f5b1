"""The gateway handler of ratings: arm on served visits, attribute outcomes, one outcome per visit.

Inputs, all inside the storing transaction:
- the queue's own facts, read from the gateway's event log after the queue handler wrote them
  (`queue.served` arms the window's terminals; `queue.window_changed` opens and ends sessions);
- with `sessions = "window_actions"`, the callers' login/logout presses instead;
- the terminals' `rating.given`, `rating.not_rated` and `rating.reason`.

Outputs: `rating.recorded` / `rating.reason_recorded` / `rating.refused` for central, and
`rating.arm` commands to the terminals once the commit holds. Window, officer and department
come from the terminal's provisioned window and the window's login, never from the event body.

Which visit an outcome belongs to (docs/rating.md, "Attribution"):
1. the visit its arming names (the gateway armed the terminal for it);
2. else the visit served last at the window before the arming, if it has no outcome yet;
3. else the first visit served at the window within `defer_s` after the arming (the officer
   pressed "please rate" before "complete"), if it has no outcome yet;
4. else, while that visit may still come, the outcome waits (`rating_pending`);
5. else it counts for the window's logged-in officer without a visit (or is refused with
   `require_visit`).
A visit that already has an outcome never gets a second one: `rating.refused`, kept for audit.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any

from contract.commands.rating import RatingArm
from contract.events.rating import VisitRef
from contract.topics import Channel, device_topic
from gateway.ratings import store
from gateway.ratings.settings import RatingGatewaySettings
from spine.handlers import HandlerContext
from spine.receiver import AcceptedEvent

log = logging.getLogger(__name__)

FACT_TYPES = ("queue.served", "queue.window_changed")
OUTCOMES = ("rating.given", "rating.not_rated")
SLACK_MS = 2000
"""The served fact and the arming are stamped on two clocks a moment apart."""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class RatingDesk:
    """The ratings handler; built by gateway.service after the queue's handler, whose facts it reads."""

    def __init__(self, settings: RatingGatewaySettings, hall: str, gateway_id: str) -> None:
        self.settings = settings
        self.hall = hall
        self.gateway_id = gateway_id
        self._terminal_windows = {
            terminal: window for window, info in settings.windows.items() for terminal in info.terminals
        }

    def handle(self, context: HandlerContext, event: AcceptedEvent) -> None:
        envelope = event.envelope
        if envelope.type in OUTCOMES:
            self._outcome(context, envelope.device, envelope.id, envelope.type, envelope.body,
                          envelope.happened_at())
        elif envelope.type == "rating.reason":
            self._reason(context, envelope.device, envelope.id, envelope.body)
        elif envelope.type == "queue.window_action" and self.settings.sessions == "window_actions":
            self._window_action(context, envelope.body, envelope.happened_at())
        # The queue handler (registered before us) may just have written facts; other domains'
        # events (telemetry, recorders) cannot, and the backlog drain should not pay for them.
        if envelope.type.startswith(("queue.", "rating.")):
            self.catch_up(context)

    # --- the queue's facts ---------------------------------------------------------------

    def catch_up(self, context: HandlerContext) -> None:
        """Read the gateway's own queue facts written since the last call."""
        tx = context.tx
        last = store.cursor(tx)
        newest = last
        for row_id, type, payload in self._facts_after(tx, last):
            newest = row_id
            body = json.loads(payload)["body"]
            if type == "queue.served":
                self._served(context, body)
            elif self.settings.sessions == "queue_facts":
                officer = body.get("officer") if body.get("state") != "closed" else None
                store.open_session(tx, str(body["window"]), officer, body["at"])
        if newest != last:
            store.advance_cursor(tx, newest)

    def _facts_after(self, tx: sqlite3.Connection, last: int) -> Iterator[tuple[int, str, str]]:
        yield from tx.execute(
            "SELECT id, type, payload FROM events WHERE id > ? AND type IN (?, ?) AND device = ? ORDER BY id",
            (last, *FACT_TYPES, self.gateway_id)).fetchall()

    def _served(self, context: HandlerContext, body: dict[str, Any]) -> None:
        tx = context.tx
        window = str(body["window"])
        served = store.ArmedVisit(day=body["day"], ticket=body["ticket"], window=window,
                                   officer=body.get("officer"), service=body.get("service"),
                                   served_at=body["at"], arming=None, outcome=None)
        waiting = store.pending_at(tx, window, served.served_at - self._defer_ms(),
                                   served.served_at + SLACK_MS)
        recent = context.now_ms - served.served_at <= self.settings.arm_max_age_s * 1000
        terminals = self._terminals(tx, window) if self.settings.arm_on_served and recent else []
        arm = RatingArm(arming=uuid.uuid4().hex, visit=VisitRef(day=served.day, ticket=served.ticket),
                        window=window, issued_at=context.now_ms) if terminals else None
        store.add_visit(tx, store.ArmedVisit(**{**served.__dict__, "arming": arm.arming if arm else None}))
        if waiting is not None:
            # The officer asked before the gateway heard of the visit (please-rate before complete,
            # or the terminal's backlog first after an outage): this visit's rating is already here.
            self._settle(context, waiting, store.visit(tx, served.day, served.ticket), "matched")
        if arm is None:
            return
        # Armed even when the rating is already here: the terminal takes an arm for the visit its
        # officer asked about as the same arming (it never asks twice), and so knows its next arm
        # is the next citizen's.
        for terminal in terminals:
            context.publish_after_commit(device_topic(self.hall, terminal, Channel.CMD),
                                         arm.model_dump_json())
        log.info("visit %s at window %s served: rating asked on %s", served.ticket, window,
                 ", ".join(terminals))

    def _window_action(self, context: HandlerContext, body: dict[str, Any], at: int) -> None:
        if body.get("action") == "login" and body.get("officer"):
            store.open_session(context.tx, str(body["window"]), body["officer"], at)
        elif body.get("action") == "logout":
            store.open_session(context.tx, str(body["window"]), None, at)

    def _terminals(self, tx: sqlite3.Connection, window: str) -> list[str]:
        configured = self.settings.windows.get(window)
        extra = configured.terminals if configured else []
        return sorted(set(store.registered_terminals(tx, window)) | set(extra))

    def window_of(self, tx: sqlite3.Connection, terminal: str) -> str | None:
        """The window a terminal serves: provisioning's registry first, then configuration."""
        return store.registered_window(tx, terminal) or self._terminal_windows.get(terminal)

    # --- outcomes ------------------------------------------------------------------------

    def _outcome(self, context: HandlerContext, terminal: str, event_id: str, type: str,
                 body: dict[str, Any], received_at: int) -> None:
        tx = context.tx
        # When it was asked for, on the gateway's clock: the device's own clock only measures
        # the distance back to the arming, where its skew cancels.
        device_end = body.get("rated_at") or body.get("ended_at") or body["armed_at"]
        armed_at = received_at - max(0, device_end - body["armed_at"])
        window = self.window_of(tx, terminal)
        # It waits for its visit `defer_s` from the later of its arming and its arrival: after an
        # outage the terminal's backlog may arrive before the caller's, whose "complete" is the visit.
        pending = store.PendingOutcome(body["rating"], terminal, window or "", armed_at, received_at, type,
                                       event_id, _dumps(body),
                                       wait_until=max(armed_at, context.now_ms) + self._defer_ms())
        named = body.get("visit")
        if named is not None:
            found = store.visit(tx, named["day"], named["ticket"])
            if found is not None and (window is None or found.window == window):
                self._settle(context, pending, found, "visit")
                return
            log.warning("rating names visit %s not served at window %s: matched by time", named, window)
        if window is None:
            self._settle(context, pending, None, "session")
            return
        before = store.last_visit_before(tx, window, armed_at + SLACK_MS,
                                         armed_at - int(self.settings.match_window_s * 1000))
        if before is not None and before.outcome is None:
            self._settle(context, pending, before, "matched")
            return
        after = store.first_unrated_after(tx, window, armed_at + SLACK_MS, armed_at + self._defer_ms())
        if after is not None:
            self._settle(context, pending, after, "matched")
        elif pending.wait_until is not None and context.now_ms < pending.wait_until:
            store.add_pending(tx, pending)  # the visit may be completed in a moment
        else:
            self._settle(context, pending, None, "session")

    def flush(self, context: HandlerContext) -> int:
        """Settle outcomes whose visit did not come in time; how many were settled."""
        waiting = store.pending_due(context.tx, context.now_ms, self._defer_ms())
        for pending in waiting:
            self._settle(context, pending, None, "session")
        return len(waiting)

    def _settle(self, context: HandlerContext, pending: store.PendingOutcome,
                visit: store.ArmedVisit | None, how: str) -> None:
        """Count the outcome for `visit` (or for the window's officer), or refuse it."""
        tx = context.tx
        held = store.held_reason(tx, pending.rating)
        store.drop_pending(tx, pending.rating)
        body = json.loads(pending.body)
        refusal = None
        if visit is not None and visit.outcome is not None and visit.outcome != pending.rating:
            refusal = f"visit {visit.day} {visit.ticket} already has outcome {visit.outcome}"
        elif visit is None and self.settings.require_visit:
            refusal = "no served visit matches this rating"
        visit_ref = {"day": visit.day, "ticket": visit.ticket} if visit else None
        if not store.add_outcome(tx, pending.rating, pending.terminal, refusal is None,
                                 visit.day if visit else None, visit.ticket if visit else None):
            return  # the same arming reported twice: counted once
        if refusal is not None:
            log.warning("rating %s from %s not counted: %s", pending.rating, pending.terminal, refusal)
            context.emit("rating.refused", {"rating": pending.rating, "terminal": pending.terminal,
                                            "reason": refusal, "source_event": pending.event_id,
                                            "visit": visit_ref})
            return
        window = pending.window or None
        if visit is not None:
            store.set_outcome(tx, visit.day, visit.ticket, pending.rating)
        officer = visit.officer if visit is not None and visit.officer else self._officer(
            tx, window, pending)
        context.emit("rating.recorded", {
            **self._attribution(window, officer), "how": how, "visit": visit_ref,
            "service": visit.service if visit else None, "rating": pending.rating,
            "terminal": pending.terminal,
            "grade": body.get("grade") if pending.type == "rating.given" else None,
            "rated_at": pending.received_at, "source_event": pending.event_id,
        })
        if held is not None:
            self._emit_reason(context, pending.terminal, json.loads(held))

    @staticmethod
    def _officer(tx: sqlite3.Connection, window: str | None, pending: store.PendingOutcome) -> str | None:
        """Who was logged in when the rating was asked for (or, failing that, when it was given)."""
        if window is None:
            return None
        return store.officer_at(tx, window, pending.armed_at) or store.officer_at(
            tx, window, pending.received_at)

    def _defer_ms(self) -> int:
        return int(self.settings.defer_s * 1000)

    def _attribution(self, window: str | None, officer: str | None) -> dict[str, Any]:
        person = self.settings.officers.get(officer) if officer else None
        place = self.settings.windows.get(window) if window else None
        department = (person.department if person else None) or (place.department if place else None)
        return {"hall": self.hall, "window": window, "officer": officer,
                "officer_name": person.name if person else None, "department": department}

    def _reason(self, context: HandlerContext, terminal: str, event_id: str, body: dict[str, Any]) -> None:
        reason = {**body, "source_event": event_id}
        if store.hold_reason(context.tx, body["rating"], terminal, _dumps(reason)):
            return  # its outcome is waiting for its visit; the reason goes with it
        if store.outcome_counted(context.tx, body["rating"], terminal):
            self._emit_reason(context, terminal, reason)

    @staticmethod
    def _emit_reason(context: HandlerContext, terminal: str, reason: dict[str, Any]) -> None:
        context.emit("rating.reason_recorded", {
            "rating": reason["rating"], "terminal": terminal, "reason": reason.get("reason"),
            "label": reason.get("label"), "source_event": reason["source_event"],
        })
