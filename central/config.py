"""Central's configuration (TOML), validated at start-up."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from central.api_users import ApiUser
from central.booking.settings import BookingSettings
from central.complaints.settings import ComplaintSettings
from central.database_settings import DatabaseSettings
from central.personal.retention import PrivacySettings
from central.public.settings import PublicSettings
from central.ratings.followups import RatingCentralSettings
from central.sms.settings import SmsSettings
from central.sms_feed.settings import SmsFeedSettings
from central.supervision_settings import SupervisionSettings
from central.video.settings import VideoSettings
from spine.config import BrokerSettings, Section
from spine.storeurl import StoreUrl

SHARE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
"""An MQTT 5 share name as central accepts it: one topic level, without wildcards or spaces."""


class HallEntry(Section):
    hall: str
    gateway: str = Field(description="the only gateway allowed to speak for this hall")
    name: str | None = Field(None, description="the hall's name on the big screen (市政务服务中心)")


class IngestSettings(Section):
    halls: list[HallEntry] = Field(
        default_factory=list, description="known halls; empty accepts any hall (demo only)"
    )
    session_expiry_s: int = Field(
        7 * 24 * 3600, ge=0,
        description="how long the broker keeps this process's subscriptions and queued batches "
        "while it is away (not used with shared_group: a shared member starts clean)")
    shared_group: str | None = Field(
        None,
        description="share the halls' event streams with every central process of this group "
        "(MQTT 5 `$share/<group>/central/+/events`): each batch reaches one live process; "
        "none: this process receives every batch (one central process)")

    @field_validator("shared_group")
    @classmethod
    def _group_is_one_topic_level(cls, group: str | None) -> str | None:
        # The group becomes a level of the subscription's filter: a `/`, `+` or `#` would make
        # it another filter (MQTT 5 4.8.2), and the broker would refuse it or share elsewhere.
        if group is not None and not SHARE_NAME.fullmatch(group):
            raise ValueError(
                f"shared_group {group!r} is not a valid MQTT share name: use 1-64 letters, digits, "
                "'-', '_' or '.' (no '/', '+', '#' or spaces), the same name in every central "
                "process of the group")
        return group


class HttpSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class WebSettings(Section):
    """Who may call the API, and how often the engine ticks."""

    users: list[ApiUser] = Field(default_factory=list, description="API callers and their roles")
    public_screen: bool = Field(
        False, description="let unauthenticated visitors read as viewers (a closed monitoring-room LAN)"
    )
    tick_s: float = Field(5.0, gt=0, le=3600, description="how often the countdown engine runs")
    hold_retry_s: float = Field(
        60.0, gt=0, description="resend an unconfirmed footage hold after this long"
    )


class CentralConfig(Section):
    # A one-machine trial: hall-01's gateway, and the pages readable without a token on loopback.
    trial_defaults = {"ingest": {"halls": [{"hall": "hall-01", "gateway": "gw-hall-01"}]},
                      "web": {"public_screen": True}}

    id: str = "central"
    broker: BrokerSettings = BrokerSettings()
    data_dir: Path = Field(Path("var/central"), description="central's SQLite files")
    ingest: IngestSettings = IngestSettings()
    http: HttpSettings = HttpSettings()
    web: WebSettings = WebSettings()
    complaints: ComplaintSettings = ComplaintSettings()
    ratings: RatingCentralSettings = RatingCentralSettings()
    privacy: PrivacySettings = PrivacySettings()
    supervision: SupervisionSettings = SupervisionSettings()
    # The citizens' platform (docs/citizens.md): SMS, what feeds it, online booking, the public site.
    sms: SmsSettings | None = Field(
        None, description="the SMS platform; none: no SMS is sent "
        "(`store` defaults to <data_dir>/sms.sqlite)")
    sms_feed: SmsFeedSettings = SmsFeedSettings()
    booking: BookingSettings = BookingSettings()
    public: PublicSettings = PublicSettings()
    video: VideoSettings = VideoSettings()
    provisioning_registry: Path | None = Field(
        None,
        description="the provisioning registry (`<home>/registry.sqlite`); when set, this "
        "process's tick follows the gateways' activation reports in the event log into it, "
        "whichever process stored them (the `hall` command passes central the follower that "
        "does it: central itself never imports provisioning). Set it in one process, on the "
        "provisioning home's machine",
    )

    @model_validator(mode="after")
    def _shares_streams_only_over_one_database(self) -> CentralConfig:
        # Each member stores the batches it is dealt where its store is: on a SQLite file of its
        # own, a hall's stream would end up split over the members' files.
        if self.ingest.shared_group is not None and self.event_store.is_sqlite:
            raise ValueError(
                "[ingest] shared_group needs the event store on PostgreSQL, shared by every member "
                "([database] url = \"postgresql://USER@HOST/DATABASE\"): on SQLite each process "
                "would keep only the batches it was dealt")
        return self

    @property
    def events_path(self) -> Path:
        return self.data_dir / "events.sqlite"

    # Where the event store lives: [database] url, else events_path (docs/operations.md).
    database: DatabaseSettings = DatabaseSettings()

    @property
    def event_store(self) -> StoreUrl:
        return self.database.store_url(self.events_path)

    @property
    def cases_path(self) -> Path:
        return self.data_dir / "cases.sqlite"

    @property
    def sms_settings(self) -> SmsSettings:
        """`[sms]` with its store in the data directory unless the file names one."""
        settings = self.sms or SmsSettings()
        if "store" in settings.model_fields_set:
            return settings
        return settings.model_copy(update={"store": self.data_dir / "sms.sqlite"})

    @property
    def calendar_dir(self) -> Path:
        """Yearly working-day schedules beyond the package's years (read by the case store too)."""
        return self.data_dir / "calendar"
