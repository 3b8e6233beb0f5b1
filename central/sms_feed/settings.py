"""`[sms_feed]` in central's TOML: how the SMS feed follows the logs, and the units' duty phones."""

from __future__ import annotations

from pydantic import Field

from spine.config import Section


class SmsFeedSettings(Section):
    poll_s: float = Field(
        1.0, gt=0, le=300, description="how often the logs are read when nothing wakes the feed")
    stale_after_h: float = Field(
        48.0, gt=0,
        description="a fact that happened longer ago than this is not told (a history import, "
        "a hall's backlog of old facts)")
    batch: int = Field(200, ge=1, le=10_000, description="facts read per log and pass")
    unit_phones: dict[str, str] = Field(
        default_factory=dict,
        description="unit (department) -> its duty mobile for bad ratings' rectification deadlines; "
        "empty: units get no SMS")
