"""The complaint desk's settings (`[complaints]` in central's TOML)."""

from __future__ import annotations

from pydantic import Field

from spine.config import Section


class ComplaintSettings(Section):
    answer_workdays: int = Field(
        5, ge=1, le=60, description="a complaint's own deadline: answered within this many working days"
    )
    footage_before_s: int = Field(
        600, ge=0, description="footage held from this long before the visit was called"
    )
    footage_after_s: int = Field(
        600, ge=0, description="and until this long after it ended"
    )
    hold_days: int = Field(
        180, ge=1, le=3650, description="how long a complaint's footage is held past the visit"
    )
