"""Central's `[video]` section: each hall's gateway address for video, and the evidence store."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from spine.config import Section
from spine.httphop import HopToken


class HallVideoLink(Section):
    """How central reaches one hall's video relay (its gateway's `[video]`)."""

    hall: str
    url: str = Field(description="the gateway's video address, e.g. https://gw-hall-01.example:8092")
    token: HopToken = Field(description="the token that gateway expects from central")
    tls_ca: Path | None = Field(None, description="CA that signed the gateway's certificate (https)")

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("a gateway's video address is http(s)://host:port")
        return value.rstrip("/")


class VideoSettings(Section):
    """The video wall and evidence: where each hall's video comes from (docs/video.md)."""

    halls: list[HallVideoLink] = Field(
        default_factory=list, description="halls whose cameras can be watched; one link per hall"
    )
    evidence_dir: Path | None = Field(
        None, description="where complaint clips fetched from the recorders are kept; "
        "default <data_dir>/evidence"
    )
    live_timeout_s: float = Field(8.0, gt=0, description="most time a hall takes to answer a live request")
    export_timeout_s: float = Field(
        600.0, gt=0, description="most time a hall takes to cut and send an evidence clip"
    )
    segment_cache_s: float = Field(
        30.0, ge=0, description="how long a live segment is kept for a second window or viewer: "
        "a camera watched twice crosses the WAN once"
    )

    @model_validator(mode="after")
    def _one_link_per_hall(self) -> VideoSettings:
        halls = [link.hall for link in self.halls]
        if len(halls) != len(set(halls)):
            raise ValueError("a hall is listed twice in [video] halls")
        return self

    def link(self, hall: str) -> HallVideoLink | None:
        return next((link for link in self.halls if link.hall == hall), None)
