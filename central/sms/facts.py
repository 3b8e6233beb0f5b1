"""Facts that central records itself and that the SMS platform speaks about, as it reads them.

Cases come over the wire with bodies declared in `contract.events.cases`; those
are validated with the contract's own models. Complaints, bookings and bad-rating
follow-ups are central's own records, so their bodies are declared here, in the
shape the notifier needs: whoever records such a fact hands its body (extra keys
are ignored, so a log body can be passed as it is) to `SmsPlatform.notify`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DAY = r"^\d{4}-\d{2}-\d{2}$"


class _NoticeFact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ComplaintNotice(_NoticeFact):
    """`complaint.received` and `complaint.answered`: the complainant hears of their complaint."""

    complaint: str = Field(min_length=1, max_length=40, description="the complaint's number")
    phone: str | None = Field(None, repr=False, description="the complainant's, if they gave one")
    due_day: str | None = Field(None, pattern=DAY, description="answer promised by (received only)")


class BookingNotice(_NoticeFact):
    """`booking.confirmed` and `booking.cancelled`: an online appointment with a window officer."""

    code: str = Field(pattern=r"^\d{4,12}$", description="the code the citizen redeems at the kiosk")
    phone: str | None = Field(None, repr=False)
    matter: str = Field(min_length=1, max_length=120)
    day: str = Field(pattern=DAY)
    time: str = Field(pattern=r"^\d{2}:\d{2}$", description="hall time of the slot")
    hall_name: str = Field("", max_length=60)
    reason: str = Field("", max_length=60, description="why it was cancelled (cancelled only)")


class RatingFollowUpNotice(_NoticeFact):
    """`rating.followup_opened`: a bad rating that the unit must rectify by its due day."""

    rating: str = Field(min_length=8, max_length=64)
    unit: str = Field(min_length=1, max_length=80)
    window: str | None = None
    grade: Literal["dissatisfied", "very_dissatisfied"]
    due_day: str = Field(pattern=DAY)
    phone: str | None = Field(None, repr=False, description="the unit's duty phone, if the fact has it")
