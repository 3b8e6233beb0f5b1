"""The window caller: the officer's keypad at one window, talking to the hall queue at the gateway.

Keys (logical names, mapped from the hardware by the shared keypad adapters):
digits 0-9, `login`, `logout`, `call_next`, `recall`, `no_show`, `park`,
`call_back`, `transfer`, `pause` (pause / resume), `complete`, `enter`, `clear`.
Digits typed before a key are its argument: an officer number before
`login`, a ticket number before `call_back`, a transfer key before
`transfer`; eleven digits before `enter` are the citizen's phone number.

Every press is recorded as a `queue.window_action` event (so a completion
pressed while the gateway is down still counts, with its time) and answered
by the gateway on this device's command topic. A call that reaches the
gateway too late is refused there rather than summon nobody.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from typing import Any, Protocol

from contract.commands.queue import WindowReply
from contract.events.queue import PHONE, WindowActionKind
from contract.privacy import mask_phone
from edge.runtime.agent import EdgeAgent
from edge.runtime.hardware.keys import Keypad, KeyPress
from edge.window_caller.config import CallerConfig
from spine.outbox import OutboxFull

log = logging.getLogger(__name__)

_ACTION_KEYS = {
    "login": WindowActionKind.LOGIN, "logout": WindowActionKind.LOGOUT,
    "call_next": WindowActionKind.CALL_NEXT, "recall": WindowActionKind.RECALL,
    "no_show": WindowActionKind.NO_SHOW, "park": WindowActionKind.PARK,
    "call_back": WindowActionKind.CALL_BACK, "transfer": WindowActionKind.TRANSFER,
    "complete": WindowActionKind.COMPLETE,
}
_CLEAR = frozenset({"clear", "*", "esc", "backspace"})
_ENTER = frozenset({"enter", "#", "ok"})


class WindowDisplay(Protocol):
    def show(self, line: str) -> None: ...


class ConsoleDisplay:
    """The caller's small screen, as console lines (kept for tests and diagnostics)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def show(self, line: str) -> None:
        self.lines.append(line)
        del self.lines[:-100]
        log.info("window: %s", line)


class WindowCaller:
    def __init__(
        self,
        config: CallerConfig,
        *,
        agent: EdgeAgent | None = None,
        keypad: Keypad | None = None,
        display: WindowDisplay | None = None,
    ) -> None:
        self.config = config
        self.window = config.window
        self.agent = agent or EdgeAgent(config)
        self.keypad = keypad
        self.display = display or ConsoleDisplay()
        self.typed = ""
        self.officer: str | None = None
        self.state: str | None = None
        self.current: dict[str, Any] | None = None
        self._replies: dict[str, threading.Event] = {}
        self._answers: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.agent.handle_command(WindowReply, self._on_reply)

    def start(self) -> None:
        self.agent.start()
        if self.keypad is not None:
            self.keypad.start(self._on_key)
        self.send(WindowActionKind.HELLO)

    def stop(self) -> None:
        if self.keypad is not None:
            self.keypad.stop()
        self.agent.stop()

    # --- keys --------------------------------------------------------------------------

    def diagnostics(self) -> dict[str, Any]:
        return {"window": self.window, "officer": self.officer, "state": self.state,
                **self.agent.diagnostics()}

    def _on_key(self, press: KeyPress) -> None:
        self.key(press.key)

    def key(self, key: str) -> str | None:
        """One key from the officer's keypad; returns the request id when something was sent."""
        if key.isdigit() and len(key) == 1:
            self.typed = (self.typed + key)[-11:]
            return None
        if key in _CLEAR:
            self.typed = ""
            return None
        typed, self.typed = self.typed, ""
        if key in _ENTER:
            return self.give_phone(typed)
        if key == "pause":
            return self.send(WindowActionKind.RESUME if self.state == "paused" else WindowActionKind.PAUSE)
        kind = _ACTION_KEYS.get(key)
        if kind is None:
            self.display.show(f"unknown key {key!r}")
            return None
        if kind is WindowActionKind.LOGIN:
            if not typed:
                self.display.show("type your officer number, then Login")
                return None
            return self.send(kind, officer=typed)
        if kind is WindowActionKind.CALL_BACK:
            return self.send(kind, ticket=typed or None)
        if kind is WindowActionKind.TRANSFER:
            service = self.config.caller.transfer_keys.get(typed)
            if service is None:
                self.display.show(f"no transfer key {typed!r}")
                return None
            return self.send(kind, service=service)
        return self.send(kind)

    # --- requests ----------------------------------------------------------------------

    def send(self, kind: WindowActionKind, **fields: Any) -> str | None:
        request = secrets.token_hex(6)
        body = {"action": kind, "window": self.window, "officer": fields.pop("officer", self.officer),
                "request": request, **fields}
        event = threading.Event()
        with self._lock:
            self._replies[request] = event
        try:
            self.agent.record("queue.window_action", body)
        except OutboxFull as exc:
            self.display.show(f"cannot record {kind}: {exc}")
            return None
        threading.Thread(target=self._await, args=(request, kind), daemon=True).start()
        return request

    def give_phone(self, typed: str) -> str | None:
        if self.current is None:
            self.display.show("no ticket at this window: call one first")
            return None
        if not re.match(PHONE, typed):
            self.display.show(f"{mask_phone(typed) or 'nothing'} is not a mobile number: type 11 digits")
            return None
        try:
            self.agent.record("queue.contact_given", {
                "day": self.current["day"], "ticket": self.current["ticket"], "window": self.window,
                "phone": typed,
            })
        except OutboxFull as exc:
            self.display.show(f"cannot record the phone number: {exc}")
            return None
        self.display.show(f"phone {mask_phone(typed)} noted for {self.current['ticket']}")
        return "contact"

    def wait_reply(self, request: str, timeout: float) -> dict[str, Any] | None:
        with self._lock:
            event = self._replies.get(request)
        if event is None or not event.wait(timeout):
            return None
        with self._lock:
            return self._answers.get(request)

    def _await(self, request: str, kind: WindowActionKind) -> None:
        with self._lock:
            event = self._replies[request]
        if not event.wait(self.config.caller.reply_timeout_s):
            self.display.show(f"{kind}: no answer from the hall gateway yet (kept, sent when it is back)")

    def _on_reply(self, typed: WindowReply) -> None:
        reply = typed.model_dump(mode="json")
        if typed.window is not None:
            self.officer = typed.window.officer
            self.state = typed.window.state
            self.current = reply["current"]
        self.display.show(("" if typed.ok else "refused: ") + typed.message)
        request = str(typed.request)
        with self._lock:
            self._answers[request] = reply
            event = self._replies.pop(request, None)
            while len(self._answers) > 64:
                self._answers.pop(next(iter(self._answers)))
        if event is not None:
            event.set()
            with self._lock:
                self._replies[request] = event  # wait_reply may still look
                while len(self._replies) > 64:
                    self._replies.pop(next(iter(self._replies)))
