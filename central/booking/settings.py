"""`[booking]` in central's TOML: opening hours, slot length and capacity per hall, how far ahead."""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import Field, model_validator

from spine.config import Section


class BookingHours(Section):
    """When a hall takes bookings and how many: capacity is per window officer."""

    opens: time = time(9, 0)
    closes: time = time(17, 30)
    break_from: time | None = Field(time(12, 0), description="lunch break (none: no break)")
    break_until: time | None = time(13, 30)
    slot_minutes: int = Field(30, ge=5, le=240)
    per_slot: int = Field(2, ge=1, le=100, description="bookings per officer per slot")
    per_day: int = Field(10, ge=1, le=1000, description="bookings per officer per day")

    @model_validator(mode="after")
    def _ordered(self) -> BookingHours:
        if self.closes <= self.opens:
            raise ValueError("closes must be after opens")
        if (self.break_from is None) != (self.break_until is None):
            raise ValueError("break_from and break_until go together")
        if self.break_from is not None and self.break_until is not None and not (
                self.opens <= self.break_from < self.break_until <= self.closes):
            raise ValueError("the break must lie inside the opening hours")
        return self


class BookingSettings(Section):
    """Online booking of a window officer (the guide says who can be booked where)."""

    enabled: bool = True
    open_on: Literal["workdays", "every_day"] = Field(
        "workdays", description="days that can be booked: the working-day calendar's, or every day "
        "(a hall open at weekends)")
    days_ahead: int = Field(7, ge=0, le=60, description="book up to this many days after today")
    lead_minutes: int = Field(30, ge=0, le=1440, description="a slot closes this long before it starts")
    arrive_early_minutes: int = Field(
        30, ge=0, le=1440, description="the kiosk takes the code from this long before the slot")
    late_minutes: int = Field(30, ge=0, le=480, description="and until this long after it ends")
    code_digits: int = Field(6, ge=4, le=12, description="as the kiosks' `[entry] code_length`")
    per_phone_per_day: int = Field(2, ge=1, le=20, description="open bookings per phone number and day")
    hours: BookingHours = BookingHours()
    halls: dict[str, BookingHours] = Field(
        default_factory=dict, description="hall id -> its own hours and capacity (else `hours`)")

    def hours_of(self, hall: str) -> BookingHours:
        return self.halls.get(hall, self.hours)
