"""`hall kiosk selftest` and `hall kiosk diagnostics`: what a technician checks at the kiosk.

Both run beside (or instead of) the agent, reading its files and asking the
printer directly; neither spends a ticket number. The kiosk's checks are the
first steps of the shared self-test (`edge.runtime.selftest`), which prints
each once and adds the broker login and the gateway round trip.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contract.events.queue import PrinterState
from edge.queue_kiosk.config import KioskConfig
from edge.queue_kiosk.hours import HallCalendar
from edge.queue_kiosk.lettering import Letterer, discover_fonts, gbk_bytes
from edge.queue_kiosk.printer.link import PrinterUnavailable, open_link
from edge.queue_kiosk.store import KioskStore
from edge.queue_kiosk.ticket import Ticket, TicketLayout, qr_payload
from edge.runtime.selftest import Step, StepFailed, StepWarning
from spine.clock import SystemClock
from spine.outbox import Outbox


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    warning: bool = False


def selftest_steps(config: KioskConfig, *, print_sample: bool = False) -> list[Step]:
    """The kiosk's own checks, in order, for the shared self-test runner."""
    steps = [
        _step("configuration", lambda: _configuration(config)),
        _step("storage", lambda: _storage(config)),
        _step("printer", lambda: _printer(config)),
        _step("text", lambda: _lettering(config)),
    ]
    if print_sample:
        steps.append(_step("sample ticket", lambda: _sample(config)))
    return steps


def _step(name: str, make: Callable[[], Check]) -> Step:
    def check() -> str:
        seen = make()
        if seen.warning:
            raise StepWarning(seen.detail)
        if not seen.ok:
            raise StepFailed(seen.detail)
        return seen.detail

    return Step(name, check)


def _configuration(config: KioskConfig) -> Check:
    return Check("configuration", True, (
        f"{len(config.services)} service(s) "
        f"({', '.join(s.prefix + ' ' + s.name for s in config.services)}), "
        f"numbering slot {config.numbering.slot} of {config.numbering.slots}"))


def _storage(config: KioskConfig) -> Check:
    try:
        store = KioskStore(config.store_path)
        day = store.last_day()
        store.close()
        outbox = Outbox(config.outbox.path, config.outbox)
        waiting, _bytes = outbox.depth()
        outbox.close()
    except Exception as exc:
        return Check("storage", False, f"cannot open {config.store_path} or the outbox: {exc}")
    free = shutil.disk_usage(config.store_path.parent).free
    low = free < config.outbox.min_free_disk_bytes * 2
    return Check("storage", not low, f"{free // 2**20} MiB free, {waiting} event(s) waiting upstream, "
                 f"last day numbered: {day or 'none yet'}", warning=low)


def _printer(config: KioskConfig) -> Check:
    link = open_link(config.printer)
    try:
        health = link.health()
    finally:
        link.close()
    where = config.printer.kind.value
    if health.state is PrinterState.UNKNOWN:
        return Check("printer", True, f"{where}: {health.detail}", warning=True)
    return Check("printer", health.printable, f"{where}: {health.state.value} {health.detail}".strip())


def _lettering(config: KioskConfig) -> Check:
    texts = [config.hall.name] + [s.name for s in config.services]
    as_image = [t for t in texts if config.printer.text_as_image or gbk_bytes(t) is None]
    if not as_image:
        return Check("text", True, "every name prints as GBK text")
    fonts = discover_fonts(config.printer.font_path)
    letterer = Letterer(fonts, config.printer.dots)
    missing = sorted({c for text in as_image for c in text if letterer._font_for(c) is None})
    detail = f"{len(as_image)} name(s) print as images with {fonts[0].name if fonts else 'no Han font'}"
    if missing:
        return Check("text", False, f"{detail}; no font has {' '.join(missing)}: set printer.font_path "
                     "to a font with them (e.g. fonts-hanazono for Extension B)")
    return Check("text", True, detail)


def _sample(config: KioskConfig) -> Check:
    clock = SystemClock()
    calendar = HallCalendar(config.hall)
    now = clock.wall_ms()
    service = config.services[0]
    sample = Ticket(
        hall_name=config.hall.name, service_name=service.name, label="TEST", people_ahead=0,
        ahead_is_estimate=False, issued_text=calendar.clock_text(now) + " 自检",
        qr_payload=qr_payload(config.device.hall, calendar.day_of(now), "TEST", config.device.id),
    )
    letterer = Letterer(discover_fonts(config.printer.font_path), config.printer.dots)
    layout = TicketLayout(config.printer, letterer)
    link = open_link(config.printer)
    try:
        after = link.print_ticket(layout.render(sample))
    except PrinterUnavailable as exc:
        return Check("sample ticket", False, str(exc))
    finally:
        link.close()
    if not after.printable:
        return Check("sample ticket", False,
                     f"not confirmed after the cut: {after.state.value} {after.detail}".strip())
    return Check("sample ticket", True, "printed (no number spent)")


def snapshot(config: KioskConfig) -> dict[str, Any]:
    """A redacted picture of the kiosk's state for `hall kiosk diagnostics`."""
    calendar = HallCalendar(config.hall)
    now = SystemClock().wall_ms()
    store = KioskStore(config.store_path)
    try:
        day = store.current_day(calendar.day_of(now))
        tickets = store.tickets(day)
        appointments = store.appointment_count(day)
    finally:
        store.close()
    outbox = Outbox(config.outbox.path, config.outbox)
    try:
        waiting, waiting_bytes = outbox.depth()
        dropped = outbox.drop_totals()
    finally:
        outbox.close()
    link = open_link(config.printer)
    try:
        health = link.health()
    finally:
        link.close()
    return {
        "device": config.device.model_dump(),
        "broker": {"host": config.broker.host, "port": config.broker.port,
                   "username": config.broker.username, "tls": config.broker.tls_ca is not None},
        "day": day,
        "open_now": calendar.is_open(now),
        "numbering": config.numbering.model_dump(),
        "tickets_today": len(tickets),
        "voided_today": sum(1 for t in tickets if t["voided"]),
        "last_ticket": tickets[-1]["label"] if tickets else None,
        "appointments_today": appointments,
        "outbox": {"events_waiting": waiting, "bytes_waiting": waiting_bytes, "dropped": dropped},
        "printer": {"kind": config.printer.kind.value, "state": health.state.value, "detail": health.detail},
    }
