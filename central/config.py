"""Central's configuration (TOML), validated at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from central.web.settings import ComplaintSettings, WebSettings
from spine.config import BrokerSettings, Section


class HallEntry(Section):
    hall: str
    gateway: str = Field(description="the only gateway allowed to speak for this hall")
    name: str | None = Field(None, description="the hall's name on the big screen (市政务服务中心)")


class IngestSettings(Section):
    halls: list[HallEntry] = Field(
        default_factory=list, description="known halls; empty accepts any hall (demo only)"
    )
    session_expiry_s: int = Field(7 * 24 * 3600, ge=0)


class HttpSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class CentralConfig(Section):
    id: str = "central"
    broker: BrokerSettings = BrokerSettings()
    data_dir: Path = Field(Path("var/central"), description="central's SQLite files")
    ingest: IngestSettings = IngestSettings()
    http: HttpSettings = HttpSettings()
    web: WebSettings = WebSettings()
    complaints: ComplaintSettings = ComplaintSettings()
    provisioning_registry: Path | None = Field(
        None,
        description="the provisioning registry (`<home>/registry.sqlite`); when set, central's "
        "registry follows the gateways' activation reports",
    )

    @property
    def events_path(self) -> Path:
        return self.data_dir / "events.sqlite"

    @property
    def cases_path(self) -> Path:
        return self.data_dir / "cases.sqlite"
