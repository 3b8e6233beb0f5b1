"""The SMS platform's configuration: which sender, when it may send, how often, and how it retries.

One typed `[sms]` section of central's TOML file. The sender is chosen here
and nowhere else; a sender that cannot start is reported loudly and the
outbox keeps every message until it can (see `senders.factory`).
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from central.sms.planning import Recipient
from spine.config import Section


class GammuSettings(Section):
    """A GSM/4G USB modem driven by Gammu (python-gammu against Debian's libGammu)."""

    gammurc: Path = Field(
        Path("/etc/hallwatch/gammurc"),
        description="Gammu configuration file; read with ReadConfig so atgen_setcnmi applies",
    )
    section: int = Field(0, ge=0, le=99, description="[gammu] is 0, [gammu1] is 1, ...")
    send_timeout_s: float = Field(
        45.0, gt=0, description="one part's answer from the modem; past it the modem process is killed"
    )
    init_timeout_s: float = Field(60.0, gt=0, description="connecting to the modem (Init takes 3-5 s)")
    delivery_reports: bool = Field(True, description="ask the network for a status report per part")
    smsc: str | None = Field(None, description="service centre number; none: the SIM's own (AT+CSCA?)")


class HttpPlatformSettings(Section):
    """A government or carrier SMS platform reached over HTTP(S)."""

    url: str = Field("http://127.0.0.1:9/sms", description="the platform's send endpoint")
    body: Literal["json", "form"] = "json"
    phone_field: str = "mobile"
    text_field: str = "content"
    extra_fields: dict[str, str] = Field(
        default_factory=dict, description="constant fields the platform wants (account, sign id, ...)"
    )
    auth_header: str | None = Field("Authorization", description="header carrying the secret; none: no auth")
    auth_format: str = Field("Bearer {secret}", description="header value; {secret} is the file's content")
    secret_file: Path | None = Field(None, description="file holding the platform's key, never the TOML")
    success_status: list[int] = Field(default_factory=lambda: [200], min_length=1)
    success_field: str | None = Field(
        None, description="dotted path in the JSON answer that must equal success_value, e.g. 'code'"
    )
    success_value: str | int | bool | None = Field(None, description="compared as text with the field")
    id_field: str | None = Field(None, description="dotted path of the platform's message id in the answer")
    timeout_s: float = Field(10.0, gt=0)

    @model_validator(mode="after")
    def _success_pair(self) -> HttpPlatformSettings:
        if (self.success_field is None) != (self.success_value is None):
            raise ValueError("success_field and success_value go together")
        if "{secret}" not in self.auth_format:
            raise ValueError("auth_format must contain {secret}")
        return self


class QuietHours(Section):
    """Hours in which nothing is sent to a person's phone (held, then sent when they end)."""

    start: time = time(21, 0)
    end: time = time(8, 0)
    timezone: str = "Asia/Shanghai"
    applies_to: list[Recipient] = Field(
        default_factory=lambda: list(Recipient), description="citizen, officer, unit"
    )


class RateLimits(Section):
    """Limits that keep a number from being flooded and the platform within its quota."""

    per_number_per_hour: int = Field(5, ge=1)
    per_number_per_day: int = Field(20, ge=1)
    per_hour: int = Field(600, ge=1, description="all numbers together (carrier or modem quota)")


class RetryPolicy(Section):
    """How a message that could not go out is tried again."""

    first_delay_s: float = Field(30.0, gt=0)
    max_delay_s: float = Field(1800.0, gt=0)
    factor: float = Field(2.0, ge=1.0)
    max_attempts: int = Field(12, ge=1, description="then the message is failed, visible, retryable by hand")


class SmsSettings(Section):
    """Citizen and officer notification by SMS (the article's fourth platform)."""

    enabled: bool = True
    backend: Literal["gammu", "http", "simulated"] = "simulated"
    store: Path = Field(
        Path("var/central/sms.sqlite"),
        description="the SMS outbox (SQLite, WAL) of a SQLite central; "
                    "on PostgreSQL it is in central's database",
    )
    templates: Path | None = Field(None, description="operator's templates TOML; none: the embedded ones")
    signature: str | None = Field(
        None, description="overrides the templates file's signature, e.g. 【酒泉市政务服务中心】"
    )
    gammu: GammuSettings = GammuSettings()
    http: HttpPlatformSettings = HttpPlatformSettings()
    quiet_hours: QuietHours | None = QuietHours()
    rate: RateLimits = RateLimits()
    retry: RetryPolicy = RetryPolicy()
    poll_s: float = Field(2.0, gt=0, description="the worker's pace when idle")
    incoming_poll_s: float = Field(30.0, gt=0, description="how often replies and reports are read")
    batch: int = Field(20, ge=1, description="messages tried per worker pass")
    lease_s: float = Field(
        600.0, gt=0,
        description="how long a message being sent stays its process's; past it another process's worker "
                    "sends it again: keep it above the longest send (gammu: parts x send_timeout_s + init)",
    )
