"""The `[queue]` section of the gateway's configuration."""

from __future__ import annotations

from pydantic import Field

from spine.config import Section


class QueueSettings(Section):
    """The hall's queue: calling rules and announcements. Services come from the kiosks' tables."""

    timezone: str = Field("Asia/Shanghai", description="the hall's local time: which day a call belongs to")
    max_recalls: int = Field(2, ge=0, le=10, description="recalls of one call before only no-show is left")
    action_ttl_s: float = Field(
        60.0, gt=0,
        description="a call/recall/call-back press older than this when it reaches the gateway "
        "(the caller was cut off) is refused, not carried out late",
    )
    announce: str = Field(
        "请{ticket}号到{window}号窗口办理",
        description="text for displays and voice; {ticket} {window} {service}",
    )
    board_delay_ms: int = Field(
        100, ge=0, le=5000, description="changes within this time go out as one board update"
    )
