"""The hall gateway's configuration (TOML), validated at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from contract.topics import check_identifier
from gateway.queue.settings import QueueSettings
from gateway.ratings.settings import RatingGatewaySettings
from spine.config import BrokerSettings, OutboxSettings, Section, UplinkSettings


class GatewayIdentity(Section):
    id: str = Field("gw-hall-01", description="the gateway's id: its MQTT username at central")
    hall: str = Field("hall-01", description="the hall it serves; one hall, one gateway")

    @field_validator("id", "hall")
    @classmethod
    def _valid(cls, value: str) -> str:
        return check_identifier(value, "id")


class KnownDevice(Section):
    id: str
    kind: str = "sim"
    window: str | None = None


class DevicePolicy(Section):
    known: list[KnownDevice] = Field(
        default_factory=list, description="devices allowed to send (provisioning adds more)"
    )
    open_enrolment: bool = Field(
        False, description="accept events from unregistered devices (demo and bench only)"
    )
    silence_s: float = Field(
        90.0, gt=0, description="a device silent this long (no heartbeat, no data) is offline"
    )
    skew_threshold_ms: int = Field(
        10_000, ge=0, description="device clocks further off than this are reported"
    )


class GatewayConfig(Section):
    gateway: GatewayIdentity = GatewayIdentity()
    hall_broker: BrokerSettings = BrokerSettings()
    central_broker: BrokerSettings = BrokerSettings()
    store_path: Path = Field(Path("var/gateway.sqlite"), description="events, queue, registry")
    outbox: OutboxSettings = OutboxSettings(max_bytes=1024 * 1024 * 1024)
    uplink: UplinkSettings = UplinkSettings()
    devices: DevicePolicy = DevicePolicy()
    queue: QueueSettings = QueueSettings()
    ratings: RatingGatewaySettings = RatingGatewaySettings()
