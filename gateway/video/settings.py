"""The gateway's `[video]` section: where it serves central, and the recorders it relays to."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from contract.topics import TopicLevel
from spine.config import Section
from spine.httphop import HopToken


class RecorderLink(Section):
    """One recorder of the hall: its video address on the hall LAN and its token."""

    device: TopicLevel = Field(description="the recorder's device id, as registered in this hall")
    url: str = Field(description="its [video] address, e.g. http://10.0.0.21:8091")
    token: HopToken = Field(description="the recorder's video token")

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("a recorder's video address is http://host:port or https://host:port")
        return value.rstrip("/")


class GatewayVideoSettings(Section):
    """Relaying live video and evidence from the hall's recorders to central (docs/video.md)."""

    host: str = Field("0.0.0.0", description="address central reaches the gateway on")
    port: int = Field(8092, ge=0, le=65535, description="0: any free port (tests)")
    token: HopToken = Field(description="the bearer token central must present")
    tls_cert: Path | None = Field(None, description="serve HTTPS with this certificate (the WAN hop)")
    tls_key: Path | None = None
    recorders: list[RecorderLink] = Field(default_factory=list, description="the hall's recorders")
    live_timeout_s: float = Field(10.0, gt=0, description="most time a recorder takes to answer")
    export_timeout_s: float = Field(
        600.0, gt=0, description="most time a recorder takes to cut an evidence clip"
    )

    @model_validator(mode="after")
    def _unique(self) -> GatewayVideoSettings:
        devices = [r.device for r in self.recorders]
        if len(devices) != len(set(devices)):
            raise ValueError("a recorder is listed twice in [video] recorders")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("give both tls_cert and tls_key, or neither")
        return self

    def recorder(self, device: str) -> RecorderLink | None:
        return next((r for r in self.recorders if r.device == device), None)
