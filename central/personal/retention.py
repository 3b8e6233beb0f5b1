"""The retention rule for personal data (`[privacy]` in central's TOML): what is kept how long. Pure.

A case's contact, a complaint's complainant, a rating follow-up's notes: kept
while the record is open (the SMS notices, the call back need them) and for
`erase_after_days` after it closes (completion confirmed, complaint answered,
follow-up closed), then erased. A phone given at a window for SMS progress
notices is erased `erase_visit_phones_after_days` after the visit. The SMS
store forgets the numbers of messages settled that long ago.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import Field

from spine.config import Section

HALL_TIME = ZoneInfo("Asia/Shanghai")

DAY_MS = 86_400_000


class PrivacySettings(Section):
    erase_after_days: int = Field(
        180, ge=1, le=3650,
        description="personal data of a case, complaint or rating follow-up is erased this many days "
        "after it closes (completion confirmed, answered, closed); SMS numbers after they were sent",
    )
    erase_visit_phones_after_days: int = Field(
        30, ge=1, le=3650, description="a phone given at a window is erased this many days after the visit"
    )
    check_every_s: float = Field(
        3600.0, gt=0, description="how often the running central applies the rule"
    )


@dataclass(frozen=True)
class Retention:
    """The rule at one instant: the cut-offs before which closed records lose their personal data."""

    settings: PrivacySettings
    now_ms: int

    @property
    def closed_before_ms(self) -> int:
        return self.now_ms - self.settings.erase_after_days * DAY_MS

    @property
    def visits_before_day(self) -> str:
        """Visits on days before this one (YYYY-MM-DD, hall time) lose their phone."""
        today = datetime.fromtimestamp(self.now_ms / 1000, HALL_TIME).date()
        return (today - timedelta(days=self.settings.erase_visit_phones_after_days)).isoformat()

    def reason(self, what: str) -> str:
        """What the erasure log says (never what was erased)."""
        days = (self.settings.erase_visit_phones_after_days if what == "visit"
                else self.settings.erase_after_days)
        return f"retention: {what} closed more than {days} days ago"

    def visit_due(self, subject: str) -> bool:
        """`visit:<hall>/<day>/<ticket>`: is its day before the cut-off?"""
        parts = subject.removeprefix("visit:").split("/")
        return len(parts) == 3 and parts[1] < self.visits_before_day
