"""The hall gateway's configuration (TOML), validated at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from contract.kinds import DeviceKind
from contract.topics import TopicLevel
from gateway.queue.settings import QueueSettings
from gateway.ratings.settings import RatingGatewaySettings
from gateway.video.settings import GatewayVideoSettings
from spine.broker.security import BROKER_UNIT, reloader
from spine.config import BrokerSettings, OutboxSettings, Section, UplinkSettings


class GatewayIdentity(Section):
    id: TopicLevel = Field("gw-hall-01", description="the gateway's id: its MQTT username at central")
    hall: TopicLevel = Field("hall-01", description="the hall it serves; one hall, one gateway")


class KnownDevice(Section):
    id: str
    kind: DeviceKind = Field(DeviceKind.SIM, description="what it may state (docs/security.md)")
    window: str | None = Field(None, description="the window a caller or rating terminal serves")


class DevicePolicy(Section):
    known: list[KnownDevice] = Field(
        default_factory=list, description="devices allowed to send (provisioning adds more)"
    )
    open_enrolment: bool = Field(
        False, description="accept events from unregistered devices (demo and bench only); such a "
        "device has no kind, so it may state only what a simulator may (sim.*)"
    )
    silence_s: float = Field(
        90.0, gt=0, description="a device silent this long (no heartbeat, no data) is offline"
    )
    skew_threshold_ms: int = Field(
        10_000, ge=0, description="device clocks further off than this are reported"
    )


class BrokerAccess(Section):
    """The hall broker's password file and ACL, which every registry sync from central rewrites."""

    directory: Path | None = Field(
        None, description="where they live (the broker's password_file and acl_file point there); "
        "default: broker/ beside the store",
    )
    reload: str = Field(
        f"systemd:{BROKER_UNIT}",
        description="how the broker is told to reread them: systemd:UNIT, pid:PID or none",
    )

    @field_validator("reload")
    @classmethod
    def _known_reload(cls, value: str) -> str:
        reloader(value)  # refuses what it cannot carry out, at start-up rather than at the first sync
        return value


class SecuritySettings(Section):
    """What the gateway does about devices that state what they may not (docs/security.md)."""

    quarantine_after: int = Field(
        0, ge=0, description="quarantine a device after this many refused facts within "
        "quarantine_window_s (0: never); a technician releases it with 'hall gateway release'",
    )
    quarantine_window_s: float = Field(600.0, gt=0, description="the window refusals are counted in")


class GatewayConfig(Section):
    # A one-machine trial: hall-01 on the loopback broker, with the trial's devices (each
    # agent's embedded defaults) known; a real hall's come from provisioning.
    trial_defaults = {
        "devices": {"known": [
            {"id": "kiosk-1", "kind": "kiosk"}, {"id": "caller-1", "kind": "caller", "window": "1"},
            {"id": "display-1", "kind": "display"}, {"id": "rating-w1", "kind": "rating", "window": "1"},
            {"id": "rec-01", "kind": "recorder"}, {"id": "sim-01", "kind": "sim"}]},
        "broker_access": {"reload": "none"},
    }

    gateway: GatewayIdentity = GatewayIdentity()
    hall_broker: BrokerSettings = BrokerSettings()
    central_broker: BrokerSettings = BrokerSettings()
    store_path: Path = Field(Path("var/gateway.sqlite"), description="events, queue, registry")
    outbox: OutboxSettings = OutboxSettings(max_bytes=1024 * 1024 * 1024)
    uplink: UplinkSettings = UplinkSettings()
    devices: DevicePolicy = DevicePolicy()
    queue: QueueSettings = QueueSettings()
    ratings: RatingGatewaySettings = RatingGatewaySettings()
    broker_access: BrokerAccess = BrokerAccess()
    security: SecuritySettings = SecuritySettings()
    video: GatewayVideoSettings | None = Field(
        None, description="relay live video and evidence from the hall's recorders to central"
    )

    @property
    def broker_access_dir(self) -> Path:
        return self.broker_access.directory or self.store_path.parent / "broker"
