"""The hall queue fed by the hall's events, inside the gateway's storing transaction.

Kiosk tickets join the queue; window callers' presses become calls, recalls,
no-shows, parks, transfers and completions, recorded as gateway events for
central; calls are announced for displays and voice, and every caller gets an
answer on its command topic. Everything a handler writes commits with the
event, and a replayed event never reaches a handler twice (the store dedups).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from contract.commands.queue import CurrentVisit, WindowReply, WindowStatus
from contract.events.queue import AnomalyKind, WindowActionKind
from contract.privacy import mask_phone
from contract.topics import Channel, device_topic, hall_calls
from gateway.queue import store
from gateway.queue.appointments import kiosk_message
from gateway.queue.board import BoardPublisher
from gateway.queue.rules import SUMMONING, Action, Limits, Situation, Visit, VisitState, Window, decide
from gateway.queue.settings import QueueSettings
from spine.handlers import HandlerContext
from spine.receiver import AcceptedEvent

log = logging.getLogger(__name__)

ClockKnown = Callable[[str, str], bool]
"""(device, boot) -> whether a live heartbeat of that boot dates the device's events."""

_TRUST_MS = 12 * 3600 * 1000
"""How much older than the gateway's estimate a device's own clock may say an event is."""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class QueueHandler:
    """The gateway handler of the `queue.*` events (built by gateway.service)."""

    def __init__(self, settings: QueueSettings, hall: str, board: BoardPublisher,
                 clock_known: ClockKnown = lambda _device, _boot: True) -> None:
        self.settings = settings
        self.clock_known = clock_known
        self.hall = hall
        self.board = board
        self.zone = ZoneInfo(settings.timezone)
        self.limits = Limits(max_recalls=settings.max_recalls)
        # Made once: every event the hall stores passes here, most of them not the queue's.
        self._handlers: dict[str, Callable[[HandlerContext, str, dict[str, Any], int], None]] = {
            "queue.kiosk_ready": self._kiosk_ready,
            "queue.ticket_issued": self._ticket_issued,
            "queue.ticket_voided": self._ticket_voided,
            "queue.window_action": self._window_action,
            "queue.contact_given": self._contact_given,
        }

    def day_of(self, at_ms: int) -> str:
        return datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(self.zone).date().isoformat()

    def handle(self, context: HandlerContext, event: AcceptedEvent) -> None:
        envelope = event.envelope
        handler = self._handlers.get(envelope.type)
        if handler is None:
            return
        # Who may state what (only kiosks issue tickets, a caller acts for its own window) was
        # settled before the event was stored (gateway.authority): what reaches us is allowed.
        at = envelope.happened_at()
        if not self.clock_known(envelope.device, envelope.boot) and 0 < at - envelope.time <= _TRUST_MS:
            # No live heartbeat dates this device yet (the gateway just restarted), and a batch the
            # broker held for us while we were down looks fresh to the batch-based estimate. The
            # device's own clock, when it is not absurd, is then the better date: tickets keep
            # their place in the queue, and a stale call is not carried out.
            at = envelope.time
        handler(context, envelope.device, envelope.body, at)

    # --- kiosks -------------------------------------------------------------------------

    def _kiosk_ready(self, context: HandlerContext, device: str, body: dict[str, Any], _at: int) -> None:
        changed = store.upsert_services(context.tx, body["services"])
        if changed:
            log.warning("kiosk %s redefined service(s) %s: check that every kiosk of the hall has the "
                        "same [[services]] table", device, ", ".join(changed))
            context.emit("queue.anomaly", {
                "kind": AnomalyKind.SERVICE_TABLE_MISMATCH,
                "detail": f"kiosk {device} redefined service(s) {', '.join(changed)}",
            })
        others = store.register_kiosk(context.tx, device, body["slot"], body["slots"])
        if others:
            detail = f"kiosk {device} claims slot {body['slot']}, already used by {', '.join(others)}"
            log.error("%s: their numbers will collide; give each kiosk its own numbering.slot", detail)
            context.emit("queue.anomaly", {"kind": AnomalyKind.SLOT_CONFLICT, "detail": detail})
        day = body["day"]
        kiosk = device_topic(self.hall, device, Channel.CMD)
        context.publish_after_commit(kiosk, kiosk_message(context.tx, day))
        self.board.mark(day)

    def _ticket_issued(self, context: HandlerContext, device: str, body: dict[str, Any], at: int) -> None:
        day, ticket = body["day"], body["ticket"]
        clash = [kiosk for _key, kiosk in store.find_label(context.tx, day, ticket) if kiosk != device]
        if clash:
            detail = f"{ticket} on {day} issued by {device} and by {', '.join(clash)}"
            log.error("number collision: %s (both kept in the queue)", detail)
            context.emit("queue.anomaly", {"kind": AnomalyKind.NUMBER_COLLISION, "detail": detail,
                                           "day": day, "ticket": ticket})
        visit = Visit(
            key=0, day=day, ticket=ticket, service=body["service"], state=VisitState.WAITING,
            issued_at=at, waiting_since=at, priority=body["priority"], appointment=body.get("appointment"),
            booked_officer=body.get("booked_officer"), booked_window=body.get("booked_window"),
        )
        store.insert_visit(context.tx, kiosk=device, number=body["number"], slot=body["slot"], visit=visit)
        code = body.get("appointment")
        if code:
            earlier = store.redeem_appointment(context.tx, code, ticket)
            if earlier is not None:
                context.emit("queue.anomaly", {
                    "kind": AnomalyKind.APPOINTMENT_REUSED, "day": day, "ticket": ticket,
                    "detail": f"appointment {code} redeemed again ({earlier} first)",
                })
        self.board.mark(day)

    def _ticket_voided(self, context: HandlerContext, device: str, body: dict[str, Any], _at: int) -> None:
        if store.void_visit(context.tx, body["day"], body["ticket"], device):
            log.info("ticket %s of %s voided by %s: %s", body["ticket"], body["day"], device, body["reason"])
        elif store.visit_state(context.tx, body["day"], body["ticket"], device) not in (
                None, VisitState.VOIDED):
            # The void came late (the kiosk was cut off): someone was already called for a
            # number that never reached paper. Too late to undo; the supervision office hears of it.
            context.emit("queue.anomaly", {
                "kind": AnomalyKind.VOIDED_AFTER_CALL, "day": body["day"], "ticket": body["ticket"],
                "detail": f"{device} voided {body['ticket']} ({body['reason']}) after the hall had called it",
            })
        self.board.mark(body["day"])

    # --- windows ------------------------------------------------------------------------

    def _window_action(self, context: HandlerContext, device: str, body: dict[str, Any], at: int) -> None:
        kind = WindowActionKind(body["action"])
        action = Action(kind, at, body.get("officer"), body.get("ticket"), body.get("service"))
        age_s = (context.now_ms - at) / 1000
        if kind in SUMMONING and age_s > self.settings.action_ttl_s:
            self._reply(context, device, body, False,
                        f"{kind} reached the hall {age_s:.0f} s late: not carried out, press again")
            return
        tx = context.tx
        window = store.load_window(tx, body["window"])
        current = store.load_visit(tx, window.current)
        day = self.day_of(at)
        situation = Situation(
            window=window,
            current=current,
            waiting=store.waiting(tx, day, window.services) if kind is WindowActionKind.CALL_NEXT else (),
            parked=store.parked_at(tx, day, window.id) if kind is WindowActionKind.CALL_BACK else (),
            officers_elsewhere=store.officers_elsewhere(tx, window.id),
            known_services=frozenset(store.known_services(tx)),
        )
        decision = decide(action, situation, self.limits)
        if decision.window != window:
            store.save_window(tx, decision.window)
        for visit in decision.visits:
            store.save_visit(tx, visit)
        for type, fact in decision.facts:
            context.emit(type, fact)
        if decision.called is not None:
            self._announce(context, decision.called, tx)
        if decision.visits or decision.window != window:
            self.board.mark(day)
        current_after = store.load_visit(tx, decision.window.current)
        self._reply(context, device, body, decision.ok, decision.message, decision.window, current_after)

    def _contact_given(self, context: HandlerContext, device: str, body: dict[str, Any], _at: int) -> None:
        visit = store.visit_at_window(context.tx, body["day"], body["ticket"], body["window"])
        masked = mask_phone(body["phone"])
        if visit is None:  # admitted only for a visit its window called (gateway.authority)
            log.warning("phone %s given at window %s for %s, which was not called there",
                        masked, body["window"], body["ticket"])
        self._reply(context, device, {"request": "contact", "window": body["window"]}, True,
                    f"SMS progress notices for {body['ticket']} go to {masked}")

    # --- messages ---------------------------------------------------------------------------

    def _announce(self, context: HandlerContext, visit: Visit, tx: sqlite3.Connection) -> None:
        services = store.known_services(tx)
        name = services.get(visit.service, {}).get("name", visit.service)
        text = self.settings.announce.format(ticket=visit.ticket, window=visit.window, service=name)
        context.publish_after_commit(hall_calls(self.hall), _dumps({
            "ticket": visit.ticket, "window": visit.window, "service": visit.service,
            "service_name": name, "text": text, "recall": visit.recalls, "at": visit.called_at,
        }))
        log.info("call: %s", text)

    def _reply(self, context: HandlerContext, device: str, body: dict[str, Any], ok: bool, message: str,
               window: Window | None = None, current: Visit | None = None) -> None:
        status: WindowStatus | None = None
        now_serving: CurrentVisit | None = None
        if window is not None:
            status = WindowStatus(id=window.id, officer=window.officer, state=window.state)
            if current is not None:
                now_serving = CurrentVisit(ticket=current.ticket, service=current.service, day=current.day,
                                           recalls=current.recalls)
        reply = WindowReply(request=body.get("request"), ok=ok, message=message, window=status,
                            current=now_serving)
        context.publish_after_commit(device_topic(self.hall, device, Channel.CMD), reply.model_dump_json())
