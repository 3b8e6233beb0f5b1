"""A GSM/4G USB modem through Gammu, with a watchdog a hung modem cannot defeat.

The modem is driven by a child process (`gammu_modem.serve`). Every answer has
a deadline; when it passes, the child is killed and the message stays queued
with the parts already accepted recorded, so the next attempt (in a fresh
process, with a fresh `Init`) sends only what is missing.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from central.sms.segments import split_ucs2
from central.sms.senders.base import DeliveryReport, IncomingSms, OutgoingSms, SendOutcome
from central.sms.senders.gammu_modem import serve
from central.sms.settings import GammuSettings

log = logging.getLogger(__name__)


class GammuSender:
    """Sends through Gammu's AT driver (or its `dummy` driver) in a supervised child process."""

    name = "gammu"

    def __init__(self, settings: GammuSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self.restarts = 0
        self.last_error: str | None = None
        self.incoming_note: str | None = None

    def split(self, text: str) -> tuple[str, ...]:
        return split_ucs2(text)

    def _ensure(self) -> Connection:
        if self._process is None or not self._process.is_alive() or self._conn is None:
            self._stop_child()
            context = multiprocessing.get_context("spawn")  # no fork of a threaded server
            parent, child = context.Pipe()
            process = context.Process(target=serve, args=(child, str(self.settings.gammurc),
                                                          self.settings.section),
                                      name="hallwatch-sms-modem", daemon=True)
            process.start()
            child.close()
            self._process, self._conn = process, parent
        return self._conn

    def _stop_child(self, *, kill: bool = False) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            if not kill:
                with contextlib.suppress(OSError):
                    conn.send(("close",))
            conn.close()
        if process is not None:
            if kill:
                process.kill()
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)

    def _answer(self, conn: Connection, timeout_s: float) -> tuple[Any, ...]:
        """The child's next answer; ("error", why) and the child killed if it does not come in time."""
        try:
            if conn.poll(timeout_s):
                answer: tuple[Any, ...] = conn.recv()
                return answer
            why = (f"the modem did not answer within {timeout_s:.0f} s; "
                   "its process was killed and will be restarted")
        except (EOFError, OSError):
            why = "the modem process ended unexpectedly; it will be restarted"
        self._stop_child(kill=True)
        self.restarts += 1
        return ("error", why)

    def _connected(self, conn: Connection) -> str | None:
        """Wait for the child's "ready"; the error if it did not connect."""
        answer = self._answer(conn, self.settings.init_timeout_s)
        if answer[0] != "ready":
            return str(answer[1])
        if answer[1] != self.incoming_note:
            if answer[1]:
                log.error("%s", answer[1])
            self.incoming_note = answer[1]
        return None

    def send(self, sms: OutgoingSms) -> SendOutcome:
        with self._lock:
            conn = self._ensure()
            conn.send(("send", sms.phone, list(sms.units), sms.first_unit, sms.concat_ref,
                       sms.report and self.settings.delivery_reports, self.settings.smsc))
            references: list[str | None] = []
            error = self._connected(conn)
            if error is not None:
                self.last_error = error
                return SendOutcome((), error, retryable=True)
            while True:
                answer = self._answer(conn, self.settings.send_timeout_s)
                if answer[0] == "part":
                    references.append(answer[2])
                elif answer[0] == "done":
                    self.last_error = None
                    return SendOutcome(tuple(references))
                else:
                    self.last_error = str(answer[1])
                    return SendOutcome(tuple(references), self.last_error, retryable=True)

    def poll(self) -> list[IncomingSms | DeliveryReport]:
        with self._lock:
            conn = self._ensure()
            conn.send(("poll",))
            error = self._connected(conn)
            answer = ("error", error) if error else self._answer(conn, self.settings.send_timeout_s)
        if answer[0] != "items":
            log.debug("reading replies and reports from the modem failed: %s", answer[1])
            return []
        items: list[IncomingSms | DeliveryReport] = []
        for item in answer[1]:
            if item["kind"] == "report":
                items.append(DeliveryReport(item["reference"], item["phone"], item["delivered"],
                                            item["final"], item["status"]))
            else:
                items.append(IncomingSms(item["phone"], item["text"], item["received_ms"]))
        return items

    def close(self) -> None:
        with self._lock:
            self._stop_child()

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "gammurc": str(self.settings.gammurc), "section": self.settings.section,
                "modem_process": bool(self._process and self._process.is_alive()),
                "restarts": self.restarts, "last_error": self.last_error,
                "replies_and_reports": self.incoming_note or "read from the SIM"}
