"""The queue kiosk: a press becomes a committed number, a printed ticket, and an event upstream.

Order of a ticket, and why:
1. Refuse early (closed, daily limit, printer unable) — no number is spent.
2. Commit the number (kiosk store) and the `queue.ticket_issued` event (outbox):
   a kiosk killed after this never reuses the number.
3. Print, and wait for the printer's status reply after the cut: that reply
   confirms the ticket. A ticket not confirmed (the printer dropped the
   connection, went silent, ran out of paper on it) is voided at once with
   `queue.ticket_voided`, so the hall's queue drops the number instead of calling
   someone who holds nothing; one left unconfirmed by a kill or a power cut is
   voided when the kiosk starts again.
Nothing here waits for the network: the gateway learns of tickets through the
outbox whenever the link is up.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from contract.commands.queue import QueueAppointments, QueueBoard
from contract.events.queue import PrinterState, RefusalReason
from edge.queue_kiosk.board import HallBoard, issued_today, people_ahead, unseen
from edge.queue_kiosk.config import KioskConfig, ServiceSettings
from edge.queue_kiosk.entry import CodeEntered, EntryRefused, KeypadEntry, ServiceChosen
from edge.queue_kiosk.hours import HallCalendar
from edge.queue_kiosk.lettering import Letterer, discover_fonts
from edge.queue_kiosk.numbering import NumberPlan
from edge.queue_kiosk.panel import KioskPanel
from edge.queue_kiosk.printer.health import PrinterMonitor
from edge.queue_kiosk.printer.link import PrinterLink, PrinterUnavailable, open_link
from edge.queue_kiosk.printer.status import PrinterHealth
from edge.queue_kiosk.repeat import RepeatGuard
from edge.queue_kiosk.store import Appointment, KioskStore
from edge.queue_kiosk.ticket import Ticket, TicketLayout, qr_payload
from edge.runtime.agent import EdgeAgent
from edge.runtime.hardware.factory import build_indicator, build_keypad
from edge.runtime.hardware.indicator import Indicator
from edge.runtime.hardware.keys import Keypad, KeyPress
from spine.clock import Clock
from spine.outbox import OutboxFull

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Issued:
    label: str
    day: str
    service: str
    people_ahead: int
    printed: bytes


@dataclass(frozen=True)
class Refused:
    reason: RefusalReason
    detail: str
    service: str | None = None


Outcome = Issued | Refused


class Kiosk:
    """A queue kiosk: presses in, committed numbers, printed tickets and events out.

    `keypad` types digits and appointment codes; `buttons` press services by prefix
    (built from the services' `button_pin`s unless given); `pin_factory` is for mock pins.
    """

    def __init__(
        self,
        config: KioskConfig,
        *,
        agent: EdgeAgent | None = None,
        clock: Clock | None = None,
        link: PrinterLink | None = None,
        keypad: Keypad | None = None,
        buttons: Keypad | None = None,
        indicator: Indicator | None = None,
        pin_factory: Any = None,
    ) -> None:
        self.config = config
        self.agent = agent or EdgeAgent(config, clock=clock, heartbeat_extra=self._heartbeat_extra)
        self.clock = self.agent.clock
        self.hall = config.device.hall
        self.plan = NumberPlan(config.numbering.slot, config.numbering.slots, config.numbering.width)
        self.calendar = HallCalendar(config.hall)
        self.services = {service.prefix: service for service in config.services}
        self.store = KioskStore(config.store_path)
        self.link = link or open_link(config.printer)
        self.layout = TicketLayout(
            config.printer, Letterer(discover_fonts(config.printer.font_path), config.printer.dots)
        )
        self.printer = PrinterMonitor(self.link, config.printer.poll_s, self._printer_changed)
        self.indicator = indicator or build_indicator(config.indicator, pin_factory=pin_factory,
                                                      source=config.device.id)
        self.panel = KioskPanel(self.indicator)
        self.entry = KeypadEntry(
            {s.key for s in config.services if s.key is not None},
            config.entry.code_length, int(config.entry.timeout_s * 1000),
        )
        self.keypad = keypad
        self._guard = RepeatGuard(config.buttons.repeat_guard_ms)
        self._board = HallBoard()
        self._board_lock = threading.Lock()
        self._issue_lock = threading.Lock()
        self.agent.handle_command(QueueBoard, self._take_board)
        self.agent.handle_command(QueueAppointments, self._take_appointments)
        self.counters = {"issued": 0, "refused": 0, "voided": 0}
        self.buttons = buttons if buttons is not None else self._open_buttons(pin_factory)

    # --- life cycle ------------------------------------------------------

    def start(self) -> None:
        day = self.today()
        self.store.prune((_date(day) - timedelta(days=7)).isoformat())
        for unconfirmed_day, label in self.store.unconfirmed():
            self._void(unconfirmed_day, label, "never confirmed printed: the kiosk stopped before the "
                       "printer's reply after the cut")
        try:
            self.agent.record("queue.kiosk_ready", {
                "slot": self.plan.slot, "slots": self.plan.slots, "day": day,
                "services": [self._service_info(s) for s in self.config.services],
            })
        except OutboxFull as exc:
            # Start anyway: a kiosk that exits on a full disk crash-loops under systemd; one that
            # runs refuses tickets for storage, says so on its status, and resumes with the disk.
            log.error("starting without recording queue.kiosk_ready: %s", exc)
        self.agent.start()
        self.printer.check()
        self.printer.start()
        if self.buttons is not None:
            self.buttons.start(self._on_button)
        if self.keypad is not None:
            self.keypad.start(self._on_key)
        log.info("kiosk %s (slot %d of %d) ready with %d service(s)", self.config.device.id,
                 self.plan.slot, self.plan.slots, len(self.services))

    def stop(self) -> None:
        if self.keypad is not None:
            self.keypad.stop()
        if self.buttons is not None:
            self.buttons.stop()
        self.printer.stop()
        self.link.close()
        self.agent.stop()
        self.store.close()
        self.indicator.close()

    # --- inputs ----------------------------------------------------------

    def _open_buttons(self, pin_factory: Any) -> Keypad | None:
        """The service buttons as a GPIO keypad keyed by prefix (None without `button_pin`s)."""
        settings = self.config.button_keypad()
        if settings is None:
            return None
        return build_keypad(settings, pin_factory=pin_factory, source=f"{self.config.device.id}-buttons")

    def _on_button(self, press: KeyPress) -> None:
        # The press time is the finger's first settled edge: a double tap is measured between fingers.
        if not self._guard.allow(press.at_mono_ms):
            log.info("button %s pressed again within %d ms: ignored", press.key,
                     self.config.buttons.repeat_guard_ms)
            return
        try:
            self.issue(press.key)
        except Exception:  # one failed ticket must not silence the buttons
            log.exception("handling the %s button failed", press.key)

    def _on_key(self, press: KeyPress) -> None:
        entry = self.entry.press(press.key, self.clock.mono_ms())
        if isinstance(entry, ServiceChosen):
            service = next(s for s in self.config.services if s.key == entry.key)
            self.issue(service.prefix)
        elif isinstance(entry, CodeEntered):
            self.redeem(entry.code)
        elif isinstance(entry, EntryRefused):
            self.panel.refused(f"{entry.typed}: {entry.reason}")

    # --- tickets ---------------------------------------------------------

    def today(self) -> str:
        return self.store.current_day(self.calendar.day_of(self.clock.wall_ms()))

    def issue(self, prefix: str) -> Outcome:
        """A citizen asked for a ticket of service `prefix`."""
        service = self.services.get(prefix)
        if service is None:
            return self._refuse(RefusalReason.UNKNOWN_SERVICE, f"no service {prefix!r}", prefix)
        return self._issue(service, None)

    def redeem(self, code: str) -> Outcome:
        """A citizen typed an appointment code booked online."""
        appointment = self.store.appointment(code)
        now = self.clock.wall_ms()
        problem = self._appointment_problem(appointment, now)
        if problem is not None:
            return self._refuse(RefusalReason.APPOINTMENT, problem)
        assert appointment is not None
        return self._issue(self.services[appointment.service], appointment)

    def _appointment_problem(self, appointment: Appointment | None, now: int) -> str | None:
        if appointment is None:
            return "unknown appointment code"
        if appointment.day != self.today():
            return f"this appointment is for {appointment.day}"
        if appointment.redeemed_ticket is not None:
            return f"already used for ticket {appointment.redeemed_ticket}"
        if appointment.service not in self.services:
            return f"service {appointment.service} is not offered at this kiosk"
        if appointment.not_before is not None and now < appointment.not_before:
            return "too early for this appointment"
        if appointment.not_after is not None and now > appointment.not_after:
            return "this appointment has expired"
        return None

    def _issue(self, service: ServiceSettings, appointment: Appointment | None) -> Outcome:
        with self._issue_lock:
            now = self.clock.wall_ms()
            day = self.today()
            if not self.calendar.is_open(now, service):
                return self._refuse(RefusalReason.CLOSED, f"{service.name} is closed now", service.prefix)
            own = self.store.issued_numbers(day, service.prefix)
            board = self._service_board(day, service.prefix)
            if appointment is None and issued_today(board, own, self.plan.slot) >= service.daily_limit:
                return self._refuse(
                    RefusalReason.DAILY_LIMIT,
                    f"{service.name}: all {service.daily_limit} tickets of today are taken",
                    service.prefix,
                )
            health = self.printer.check()
            if not health.printable:
                return self._refuse(RefusalReason.PRINTER, _printer_reason(health), service.prefix)
            priority = service.priority or appointment is not None
            ahead = people_ahead(board, unseen(own, board.high.get(self.plan.slot, 0)), priority)
            estimate = not (self.agent.uplink.stats.connected and self.agent.uplink.drained())
            floor = self._floor_index(board)
            try:
                label, number, _index = self.store.allocate(
                    day, service.prefix, floor,
                    lambda index: (self.plan.label(service.prefix, self.plan.number(index)),
                                   self.plan.number(index)),
                    issued_at=now, priority=priority,
                    appointment=appointment.code if appointment else None,
                )
                self.agent.record("queue.ticket_issued", {
                    "ticket": label, "day": day, "service": service.prefix, "service_name": service.name,
                    "number": number, "slot": self.plan.slot, "priority": priority,
                    "appointment": appointment.code if appointment else None,
                    "booked_officer": appointment.officer if appointment else None,
                    "booked_window": appointment.window if appointment else None,
                    "people_ahead": ahead, "issued_at": now,
                })
            except OutboxFull as exc:
                return self._refuse(RefusalReason.STORAGE, str(exc), service.prefix)
            ticket = Ticket(
                hall_name=self.config.hall.name, service_name=service.name, label=label,
                people_ahead=ahead, ahead_is_estimate=estimate,
                issued_text=self.calendar.clock_text(now),
                qr_payload=qr_payload(self.hall, day, label, self.config.device.id),
                priority=priority, appointment=appointment.code if appointment else None,
            )
            try:
                data = self.layout.render(ticket)
                after = self.link.print_ticket(data)
            except PrinterUnavailable as exc:
                self.printer.observe(PrinterHealth(PrinterState.OFFLINE, str(exc)))
                self._void(day, label, f"print failed: {exc}")
                return self._refuse(
                    RefusalReason.PRINTER, "the printer failed while printing", service.prefix
                )
            except Exception as exc:  # a committed number must never be left unprinted and queued
                log.exception("rendering or printing %s failed", label)
                self._void(day, label, f"ticket could not be rendered: {exc}")
                return self._refuse(RefusalReason.PRINTER, "the ticket could not be printed", service.prefix)
            self.printer.observe(after)
            if not after.printable:
                self._void(day, label, f"not confirmed after the cut: {_printer_reason(after)}")
                return self._refuse(RefusalReason.PRINTER, _printer_reason(after), service.prefix)
            self.store.confirm(day, label)
            self.counters["issued"] += 1
            self.panel.issued(label)
            return Issued(label, day, service.prefix, ahead, data)

    def _void(self, day: str, label: str, reason: str) -> None:
        self.store.void(day, label)
        self.agent.record("queue.ticket_voided", {"ticket": label, "day": day, "reason": reason[:200]})
        self.counters["voided"] += 1
        log.error("ticket %s was not printed and is void: %s", label, reason)

    def _refuse(self, reason: RefusalReason, detail: str, service: str | None = None) -> Refused:
        self.counters["refused"] += 1
        self.panel.refused(detail)
        # Routine: when the disk is full the outbox counts what it could not keep.
        with contextlib.suppress(OutboxFull):
            self.agent.record("queue.ticket_refused",
                              {"service": service, "reason": reason, "detail": detail})
        return Refused(reason, detail, service)

    # --- the hall's board, from the gateway --------------------------------

    def _service_board(self, day: str, prefix: str) -> Any:
        with self._board_lock:
            return self._board.service(day, prefix)

    def _floor_index(self, board: Any) -> int:
        high = board.high.get(self.plan.slot, 0)
        if high < self.plan.slot or not self.plan.owns(high):
            return 0
        return self.plan.index_of(high) + 1

    def _take_board(self, command: QueueBoard) -> None:
        board = HallBoard.from_message(command, self.clock.wall_ms())
        with self._board_lock:
            self._board = board

    def _take_appointments(self, command: QueueAppointments) -> None:
        day = command.day
        items = [
            Appointment(
                code=a.code, day=day, service=a.service, officer=a.officer, window=a.window,
                not_before=a.not_before, not_after=a.not_after, redeemed_ticket=a.redeemed_ticket,
            )
            for a in command.appointments
        ]
        self.store.replace_appointments(day, items)
        log.info("received %d appointment(s) for %s", len(items), day)

    # --- reporting -------------------------------------------------------

    def _printer_changed(self, previous: PrinterHealth | None, health: PrinterHealth) -> None:
        self.panel.ready(health.printable, health.detail or health.state.value)
        if previous is None and health.state in (PrinterState.READY, PrinterState.UNKNOWN):
            return  # a healthy start is not news
        self.agent.record("queue.printer_status", {
            "state": health.state, "printable": health.printable, "detail": health.detail[:200],
        })

    def _service_info(self, service: ServiceSettings) -> dict[str, Any]:
        return {"prefix": service.prefix, "name": service.name, "windows": list(service.windows),
                "priority": service.priority, "daily_limit": service.daily_limit}

    def _heartbeat_extra(self) -> dict[str, Any]:
        health = self.printer.current if hasattr(self, "printer") else None
        return {"printer": health.state.value if health else None}

    def diagnostics(self) -> dict[str, Any]:
        day = self.today()
        health = self.printer.current
        with self._board_lock:
            board = self._board
        return {
            **self.agent.diagnostics(),
            "kiosk": {
                "day": day,
                "slot": self.plan.slot,
                "slots": self.plan.slots,
                "printer": {"state": health.state.value, "detail": health.detail} if health else None,
                "counters": dict(self.counters),
                "tickets_today": len(self.store.tickets(day)),
                "appointments_today": self.store.appointment_count(day),
                "board_day": board.day,
                "board_age_ms": self.clock.wall_ms() - board.at_ms if board.at_ms else None,
                "open_now": self.calendar.is_open(self.clock.wall_ms()),
            },
        }


def _printer_reason(health: PrinterHealth) -> str:
    words = {
        PrinterState.PAPER_OUT: "the printer is out of paper",
        PrinterState.COVER_OPEN: "the printer cover is open",
        PrinterState.OFFLINE: "the printer is not answering",
        PrinterState.ERROR: "the printer reports an error",
    }
    return f"{words.get(health.state, health.state.value)} ({health.detail})" if health.detail else \
        words.get(health.state, health.state.value)


def _date(day: str) -> Any:
    from datetime import date

    return date.fromisoformat(day)
