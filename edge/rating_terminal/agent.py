"""The running rating terminal: keypad and gateway commands in, the session's rules, events out.

Every outcome is committed to the outbox before the lamps say "thank you", and
forwarded when the gateway is reachable; with the gateway gone the terminal
keeps working on its own "please rate" key. Commands arrive on the device's
`cmd` topic:

    {"command": "rating.arm", "arming": "<id>", "visit": {"day": "...", "ticket": "A003"},
     "issued_at": <gateway ms>}
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from contract.commands.rating import RatingArm
from contract.events.rating import ArmTrigger, VisitRef
from edge.rating_terminal.config import RatingTerminalConfig
from edge.rating_terminal.lamps import TerminalLamps
from edge.rating_terminal.session import Effect, Instant, RatingSession, Record, Show
from edge.runtime.agent import EdgeAgent
from edge.runtime.hardware.factory import build_indicator, build_keypad
from edge.runtime.hardware.indicator import Indicator
from edge.runtime.hardware.keys import KeyEvent, KeyEventKind, Keypad, KeyPress, ObservableKeypad
from edge.runtime.hardware.prompt import PromptingKeypad
from spine.clock import Clock
from spine.outbox import OutboxFull

log = logging.getLogger(__name__)

class RatingTerminal:
    """One window's satisfaction terminal."""

    def __init__(
        self,
        config: RatingTerminalConfig,
        *,
        keypad: Keypad | None = None,
        indicator: Indicator | None = None,
        clock: Clock | None = None,
        pin_factory: Any = None,
    ) -> None:
        self.config = config
        self.agent = EdgeAgent(config, clock=clock, heartbeat_extra=self._heartbeat)
        self.clock = self.agent.clock
        self.keypad = keypad if keypad is not None else build_keypad(
            config.keypad, pin_factory=pin_factory, source=config.device.id)
        try:
            self.indicator = indicator if indicator is not None else build_indicator(
                config.indicator, pin_factory=pin_factory, source=config.device.id)
        except Exception:
            self.keypad.stop()  # give its pins or port back: a restart must find them free
            raise
        prompts = self.keypad if isinstance(self.keypad, PromptingKeypad) else None
        self.lamps = TerminalLamps(self.indicator, prompts, config.rating)
        self.session = RatingSession(config.rating)
        self.counts = {"given": 0, "not_rated": 0, "flagged": 0, "arms_received": 0, "arms_ignored": 0,
                       "keypad_restarts": 0}
        self._lock = threading.Condition()
        self._stopping = False
        self._ticker = threading.Thread(target=self._tick_loop, name="rating-ticker", daemon=True)
        self.agent.handle_command(RatingArm, self._on_arm_command)

    # --- life cycle --------------------------------------------------------

    def start(self) -> None:
        self.agent.start()
        if isinstance(self.keypad, ObservableKeypad):
            self.keypad.on_event(self._on_keypad_event)
        self.keypad.start(self._on_press)
        with self._lock:
            self.lamps.show(self.session.phase, self.session.faulted)  # the evaluator: ready
        self._ticker.start()
        log.info("rating terminal %s ready at window %s", self.config.device.id,
                 self.config.device.window or "?")

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._apply(self.session.stop(self._now()))
            self.lamps.out_of_order()
            self._lock.notify()
        self.keypad.stop()
        if self._ticker.is_alive():
            self._ticker.join(5)
        self.indicator.close()
        self.agent.stop()

    # --- inputs ------------------------------------------------------------

    def arm(self, visit: VisitRef | dict[str, str] | None = None, arming_id: str | None = None,
            trigger: ArmTrigger = ArmTrigger.VISIT_COMPLETED) -> None:
        """Ask the citizen for a rating (what the gateway's arm command does)."""
        if isinstance(visit, VisitRef):
            visit = visit.model_dump()
        with self._lock:
            self._apply(self.session.arm(self._now(), trigger, visit, arming_id))
            self._lock.notify()

    def _on_press(self, press: KeyPress) -> None:
        with self._lock:
            self._apply(self.session.press(self._now(), press.key, press.held_ms))
            self._lock.notify()

    def _on_keypad_event(self, event: KeyEvent) -> None:
        if event.kind is KeyEventKind.RESTARTED:
            # Counted apart: a restart is neither a press nor a lost one (the adapter re-sends
            # the prompt; presses counted since the restart come as MISSED).
            self.counts["keypad_restarts"] += 1
            log.warning("keypad of %s restarted: %s", self.config.device.id, event.detail)
        with self._lock:
            self._apply(self.session.keypad_event(self._now(), event))

    def _on_arm_command(self, command: RatingArm) -> None:
        self.counts["arms_received"] += 1
        visit, arming, issued_at = command.visit, command.arming, command.issued_at
        age_s = (self.clock.wall_ms() - issued_at) / 1000
        if issued_at and age_s > self.config.rating.arm_max_age_s:
            # Delivered late (we were offline): that citizen has gone; the next one must
            # not rate someone else's visit.
            self.counts["arms_ignored"] += 1
            log.warning("ignoring an arm command %.0f s old for %s", age_s, visit)
            return
        self.arm(visit, arming)

    # --- effects -----------------------------------------------------------

    def _apply(self, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, Record):
                try:
                    self.agent.record(effect.type, effect.body)
                except OutboxFull as exc:
                    # Loudly, and the terminal goes on: its status says the disk is full, and
                    # a dead ticker would leave the next citizen's rating waiting for ever.
                    log.error("%s not recorded: %s", effect.type, exc)
                    continue
                self._count(effect)
            elif isinstance(effect, Show):
                self.lamps.show(effect.phase, effect.fault)

    def _count(self, record: Record) -> None:
        key = {"rating.given": "given", "rating.not_rated": "not_rated",
               "rating.key_flagged": "flagged"}.get(record.type)
        if key:
            self.counts[key] += 1
        if record.type == "rating.not_rated":
            log.info("not rated (%s) %s", record.body["why"], record.body.get("visit") or "")
        elif record.type == "rating.given":
            log.info("rated %s %s", record.body["grade"], record.body.get("visit") or "")

    def _now(self) -> Instant:
        return Instant(self.clock.wall_ms(), self.clock.mono_ms())

    def _tick_loop(self) -> None:
        with self._lock:
            while not self._stopping:
                now = self._now()
                self._apply(self.session.tick(now))
                deadline = self.session.next_deadline()
                timeout = None if deadline is None else max(0.005, (deadline - self.clock.mono_ms()) / 1000)
                self._lock.wait(timeout)

    # --- reports -----------------------------------------------------------

    def _heartbeat(self) -> dict[str, Any]:
        # Like the kiosk's `printer`: the keypad's state word beside the device's own liveness.
        return {"phase": self.session.phase.value, "keypad": "ok" if self.keypad.healthy() else "fault",
                "keypad_restarts": self.counts["keypad_restarts"]}

    def diagnostics(self) -> dict[str, Any]:
        report = self.agent.diagnostics()
        report["rating"] = {
            "window": self.config.device.window,
            "phase": self.session.phase.value,
            "keypad": {"kind": self.config.keypad.kind, "healthy": self.keypad.healthy()},
            "counts": {**self.counts, "arms_joined": self.session.joined},
            "arm_window_s": self.config.rating.arm_window_s,
        }
        return report
