"""`[public]` in central's TOML: the citizens' public site (no login) and its limits."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from spine.config import Section


class PublicSettings(Section):
    enabled: bool = Field(True, description="serve the public site under /public/")
    title: str = Field("酒泉市政务服务", max_length=40, description="the site's name in every page's header")
    guide: Path | None = Field(None, description="the matter guide TOML; none: the embedded demo guide")
    progress_per_client_per_hour: int = Field(
        20, ge=1, description="progress queries one client address may make in an hour")
    progress_per_case_per_hour: int = Field(
        8, ge=1, description="queries of one case number in an hour, from anywhere (4 digits of a "
        "phone cannot be tried through)")
    forms_per_client_per_hour: int = Field(
        20, ge=1, description="bookings and cancellations one client address may send in an hour")
    client_header: str | None = Field(
        None, description="behind a reverse proxy: the header naming the citizen's address, e.g. "
        "X-Forwarded-For (its first address); none: the connection's address")
    attempts_kept_days: int = Field(30, ge=1, le=3650, description="how long attempts are logged")
