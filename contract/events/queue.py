"""Event types of the queue domain: a visit from ticket to outcome, event-sourced.

Kiosks record what they did (`queue.kiosk_ready`, `queue.ticket_issued`,
`queue.ticket_voided`, `queue.printer_status`, `queue.ticket_refused`).
Window callers record what the officer asked for (`queue.window_action`) and
the phone number a citizen typed (`queue.contact_given`). The hall gateway
decides and records the facts of the visit (`queue.called`, `queue.recalled`,
`queue.no_show`, `queue.parked`, `queue.transferred`, `queue.served`,
`queue.window_changed`, `queue.anomaly`): central computes waiting and service
times from those alone. Times named `*_at` are ms since the epoch (UTC); in
gateway facts they are on the gateway's clock.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from contract.authority import About
from contract.kinds import Author
from contract.privacy import mask_phone
from contract.registry import Body, event_type

DAY = r"^\d{4}-\d{2}-\d{2}$"
TICKET = r"^[A-Z]{1,2}\d{1,6}$"
PREFIX = r"^[A-Z]{1,2}$"
PHONE = r"^1[3-9]\d{9}$"


class PrinterState(StrEnum):
    READY = "ready"
    NEAR_END = "near_end"  # still prints; a technician should bring paper
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    ERROR = "error"  # cutter jam, head too hot, ...
    OFFLINE = "offline"  # unplugged, switched off, or not answering status queries
    UNKNOWN = "unknown"  # a backend that cannot report (a plain file)


class RefusalReason(StrEnum):
    PRINTER = "printer"
    CLOSED = "closed"
    DAILY_LIMIT = "daily_limit"
    UNKNOWN_SERVICE = "unknown_service"
    APPOINTMENT = "appointment"
    STORAGE = "storage"


class WindowActionKind(StrEnum):
    HELLO = "hello"  # a caller (re)started and wants its window's state
    LOGIN = "login"
    LOGOUT = "logout"
    CALL_NEXT = "call_next"
    RECALL = "recall"
    NO_SHOW = "no_show"
    PARK = "park"
    CALL_BACK = "call_back"
    TRANSFER = "transfer"
    PAUSE = "pause"
    RESUME = "resume"
    COMPLETE = "complete"


class WindowState(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"  # nobody logged in


class AnomalyKind(StrEnum):
    NUMBER_COLLISION = "number_collision"
    APPOINTMENT_REUSED = "appointment_reused"
    SLOT_CONFLICT = "slot_conflict"
    SERVICE_TABLE_MISMATCH = "service_table_mismatch"
    # Before the authority table, a device sending what its role may not was reported so; such a
    # fact is now refused before it is stored (`security.refused`): kept for the logs of old.
    DEVICE_ROLE = "device_role"
    VOIDED_AFTER_CALL = "voided_after_call"  # a kiosk voided a number the hall had already called


class ServiceInfo(Body):
    """A service as a kiosk is configured to offer it; the gateway learns its hall's table from these."""

    prefix: str = Field(pattern=PREFIX)
    name: str = Field(min_length=1, max_length=40)
    windows: list[str] = Field(default_factory=list)
    priority: bool = False
    daily_limit: int = Field(ge=1)


@event_type("queue.kiosk_ready", authors=Author.KIOSK, about=About.ITSELF, essential=True)
class KioskReady(Body):
    """A kiosk started: its number slot and its service table (always before its first ticket)."""

    slot: int = Field(ge=1)
    slots: int = Field(ge=1)
    day: str = Field(pattern=DAY)
    services: list[ServiceInfo]


@event_type("queue.ticket_issued", authors=Author.KIOSK, about=About.ITSELF, essential=True)
class TicketIssued(Body):
    """A number committed at a kiosk; printed right after (or voided if the print failed)."""

    ticket: str = Field(pattern=TICKET, description="prefix + number, e.g. A003")
    day: str = Field(pattern=DAY, description="the hall's local date the number belongs to")
    service: str = Field(pattern=PREFIX)
    service_name: str
    number: int = Field(ge=1)
    slot: int = Field(ge=1)
    priority: bool = False
    appointment: str | None = Field(None, description="the redeemed appointment code")
    booked_officer: str | None = None
    booked_window: str | None = None
    people_ahead: int = Field(ge=0)
    issued_at: int = Field(description="kiosk wall clock, ms")


@event_type("queue.ticket_voided", authors=Author.KIOSK, about=About.ITSELF, essential=True)
class TicketVoided(Body):
    """A committed number that never reached paper: the gateway drops it from the queue."""

    ticket: str = Field(pattern=TICKET)
    day: str = Field(pattern=DAY)
    reason: str


@event_type("queue.printer_status", authors=Author.KIOSK, about=About.ITSELF, essential=True)
class PrinterStatusChanged(Body):
    """Recorded once per change of the printer's health, not per poll."""

    state: PrinterState
    printable: bool
    detail: str = ""


@event_type("queue.ticket_refused", authors=Author.KIOSK, about=About.ITSELF, essential=False)
class TicketRefused(Body):
    """A press that got no ticket, and why (for technicians and unmet-demand statistics)."""

    service: str | None = None
    reason: RefusalReason
    detail: str = ""


@event_type("queue.window_action", authors=Author.CALLER, about=About.OWN_WINDOW, essential=True)
class WindowActionRequested(Body):
    """What a window officer pressed; the gateway decides what it means for the queue."""

    action: WindowActionKind
    window: str = Field(min_length=1, max_length=16)
    officer: str | None = Field(None, max_length=32)
    ticket: str | None = Field(
        None, pattern=r"^([A-Z]{1,2})?\d{1,6}$", description="call-back: a label, or just its digits"
    )
    service: str | None = Field(None, pattern=PREFIX, description="transfer target")
    request: str = Field(min_length=4, max_length=40, description="caller's id for the reply")


@event_type("queue.contact_given", authors=Author.CALLER, about=About.SERVED_VISIT, essential=True)
class ContactGiven(Body):
    """A citizen's phone number for SMS progress notices. Never shown or logged unmasked."""

    day: str = Field(pattern=DAY)
    ticket: str = Field(pattern=TICKET)
    window: str
    phone: str = Field(pattern=PHONE, repr=False)

    def __repr__(self) -> str:
        return (f"ContactGiven(day={self.day!r}, ticket={self.ticket!r}, window={self.window!r}, "
                f"phone={mask_phone(self.phone)!r})")

    __str__ = __repr__


class _Fact(Body):
    day: str = Field(pattern=DAY)
    ticket: str = Field(pattern=TICKET)
    service: str = Field(pattern=PREFIX)
    window: str
    officer: str | None = None
    at: int = Field(description="when it happened, gateway clock, ms")


@event_type("queue.called", authors=Author.GATEWAY, about=About.OWN_HALL, essential=True)
class Called(_Fact):
    """A ticket called to a window: first time, or back from the parked list."""

    issued_at: int
    waiting_since: int = Field(description="issue time, or the transfer time in a new service")
    wait_ms: int = Field(ge=0)
    call_back: bool = False


@event_type("queue.recalled", authors=Author.GATEWAY, about=About.OWN_HALL, essential=True)
class Recalled(_Fact):
    """The window called the same ticket again (the citizen did not come at the first call)."""

    recalls: int = Field(ge=1)


@event_type("queue.no_show", authors=Author.GATEWAY, about=About.OWN_HALL, essential=True)
class NoShow(_Fact):
    """The citizen never came to the window after the calls: the ticket leaves the queue unserved."""

    called_at: int


@event_type("queue.parked", authors=Author.GATEWAY, about=About.OWN_HALL, essential=True)
class Parked(_Fact):
    """A visit set aside at its window (a document to fetch) and called back later."""

    active_ms: int = Field(ge=0, description="service time at this window so far")


@event_type("queue.transferred", authors=Author.GATEWAY, about=About.OWN_HALL, essential=True)
class Transferred(_Fact):
    """A visit sent from its window to another service's queue, keeping its place in time."""

    to_service: str = Field(pattern=PREFIX)
    active_ms: int = Field(ge=0)


@event_type("queue.served", authors=Author.GATEWAY, about=About.OWN_HALL, essential=True)
class Served(_Fact):
    """The window completed the visit: what ratings, statistics and complaint footage start from."""

    called_at: int
    service_ms: int = Field(ge=0, description="time at the window, parked spells excluded")


@event_type("queue.window_changed", authors=Author.GATEWAY, about=About.OWN_HALL, essential=True)
class WindowChanged(Body):
    """A window opened, paused or closed, or an officer logged in or out there."""

    window: str
    officer: str | None = None
    state: WindowState
    at: int


@event_type("queue.anomaly", authors=Author.GATEWAY, about=About.OWN_HALL, essential=True)
class QueueAnomaly(Body):
    """Something that should never happen did: report it, keep every ticket."""

    kind: AnomalyKind
    detail: str
    day: str | None = None
    ticket: str | None = None
