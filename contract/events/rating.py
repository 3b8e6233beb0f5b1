"""Event types of the rating domain: one satisfaction rating per served visit, by the national rules.

The five grades of 国办发〔2019〕51号 / GB/T 39734-2020; the last two are bad
ratings (差评) that need a reason and a rectification follow-up.

A rating terminal records what the citizen did: `rating.given` (a grade, the
moment it is pressed), `rating.reason` (the second step after a bad grade),
`rating.not_rated` (the arming ran out), `rating.key_flagged` (presses that are
no rating: extra, mashing, held, unarmed, unknown) and `rating.terminal_fault`.
The terminal never says who served: the hall gateway attaches window, officer
and department from the window's login and records `rating.recorded` and
`rating.reason_recorded`; central counts those alone.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from contract.authority import About
from contract.kinds import Author
from contract.registry import Body, event_type

DAY = r"^\d{4}-\d{2}-\d{2}$"
TICKET = r"^[A-Z]{1,2}\d{1,6}$"
RATING_ID = r"^[A-Za-z0-9._:-]{8,64}$"


class Grade(StrEnum):
    """The national five grades, best first."""

    VERY_SATISFIED = "very_satisfied"  # 非常满意
    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    DISSATISFIED = "dissatisfied"  # 不满意
    VERY_DISSATISFIED = "very_dissatisfied"  # 非常不满意

    @property
    def label(self) -> str:
        return GRADE_LABELS[self]

    @property
    def bad(self) -> bool:
        """差评: needs a reason, a rectification and a callback."""
        return self in (Grade.DISSATISFIED, Grade.VERY_DISSATISFIED)

    @property
    def satisfied(self) -> bool:
        """Counts toward the satisfaction rate (满意率: the three non-bad grades)."""
        return not self.bad


GRADE_LABELS = {
    Grade.VERY_SATISFIED: "非常满意",
    Grade.SATISFIED: "满意",
    Grade.BASICALLY_SATISFIED: "基本满意",
    Grade.DISSATISFIED: "不满意",
    Grade.VERY_DISSATISFIED: "非常不满意",
}


class ArmTrigger(StrEnum):
    """Why a terminal asked for a rating."""

    VISIT_COMPLETED = "visit_completed"  # the gateway: the window completed a visit
    OFFICER_REQUEST = "officer_request"  # the officer pressed "please rate" on the terminal


class FlagReason(StrEnum):
    """Why a press is kept for audit instead of counted."""

    UNARMED = "unarmed"  # no rating was asked for
    EXTRA = "extra"  # after this arming's rating was given
    MASHING = "mashing"  # another key right after the counted one
    HELD = "held"  # the counted key was held down
    REPEAT = "repeat"  # auto-repeat or a retransmitted frame
    UNKNOWN_KEY = "unknown_key"
    MISSED = "missed"  # the keypad counted presses we could not read
    BAD_FRAME = "bad_frame"


class VisitRef(Body):
    """The visit a rating belongs to, as the hall's queue names it."""

    day: str = Field(pattern=DAY)
    ticket: str = Field(pattern=TICKET)


class _Outcome(Body):
    rating: str = Field(pattern=RATING_ID, description="the arming's id: one outcome per arming")
    visit: VisitRef | None = Field(None, description="unknown when armed offline by the officer")
    trigger: ArmTrigger
    armed_at: int = Field(description="device wall clock, ms")


@event_type("rating.given", authors=Author.RATING, about=About.OWN_WINDOW, essential=True)
class RatingGiven(_Outcome):
    """The citizen pressed a grade (recorded at once; a bad grade's reason follows)."""

    grade: Grade
    key: str
    rated_at: int = Field(description="device wall clock, ms")
    reason_pending: bool = Field(description="a bad grade: the reason step follows")


@event_type("rating.reason", authors=Author.RATING, about=About.OWN_WINDOW, essential=True)
class RatingReason(Body):
    """The second step after a bad grade: the reason chosen, or none when it timed out."""

    rating: str = Field(pattern=RATING_ID)
    reason: str | None = Field(None, max_length=40, description="reason code from configuration")
    label: str | None = Field(None, max_length=80)
    at: int


@event_type("rating.not_rated", authors=Author.RATING, about=About.OWN_WINDOW, essential=True)
class RatingNotRated(_Outcome):
    """The arming ended without a grade: time ran out, or another visit took its place."""

    ended_at: int
    why: str = Field(pattern="^(timeout|superseded|stopped|fault)$",
                     description="fault: the keypad was unreachable when time ran out")


@event_type("rating.key_flagged", authors=Author.RATING, about=About.ITSELF, essential=True)
class RatingKeyFlagged(Body):
    """A press (or keypad report) that made no rating, kept for audit, never deleted."""

    flag: FlagReason
    key: str | None = None
    rating: str | None = Field(None, description="the arming it happened in, if any")
    held_ms: int | None = None
    detail: str = Field("", max_length=200)
    at: int


@event_type("rating.terminal_fault", authors=Author.RATING, about=About.ITSELF, essential=True)
class RatingTerminalFault(Body):
    """The keypad became unreachable or came back (recorded once per change)."""

    state: str = Field(pattern="^(fault|ok)$")
    detail: str = Field("", max_length=200)
    at: int


class Attribution(Body):
    """Who and where a rating counts for, attached at the gateway (never from the keypad)."""

    hall: str
    window: str | None
    officer: str | None
    officer_name: str | None = None
    department: str | None
    service: str | None = None
    visit: VisitRef | None = None
    how: str = Field(description="visit: the served visit named by the arming; "
                     "matched: the visit served at the window just before; session: the window's login")


@event_type("rating.recorded", authors=Author.GATEWAY, about=About.OWN_HALL, essential=True)
class RatingRecorded(Attribution):
    """One counted outcome of a visit at the gateway: a grade, or not rated."""

    rating: str = Field(pattern=RATING_ID)
    terminal: str
    grade: Grade | None = Field(None, description="None: not rated")
    rated_at: int = Field(description="gateway clock estimate of the press (or of the timeout), ms")
    source_event: str


@event_type("rating.reason_recorded", authors=Author.GATEWAY, about=About.OWN_HALL, essential=True)
class RatingReasonRecorded(Body):
    """The reason for a bad grade, as the gateway counted it with the rating it belongs to."""

    rating: str = Field(pattern=RATING_ID)
    terminal: str
    reason: str | None
    label: str | None = None
    source_event: str


@event_type("rating.refused", authors=Author.GATEWAY, about=About.OWN_HALL, essential=True)
class RatingRefused(Body):
    """An outcome the gateway did not count (the visit already has one), kept for audit."""

    rating: str = Field(pattern=RATING_ID)
    terminal: str
    reason: str
    source_event: str
    visit: VisitRef | None = None
