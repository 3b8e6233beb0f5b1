"""Typed TOML configuration shared by every agent: load, validate, list every error at once."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)


class ConfigError(Exception):
    """A configuration that cannot be used; the message lists every wrong key."""


class Section(BaseModel):
    """Base of every configuration section: frozen, and unknown keys are errors (typos are caught)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trial_defaults: ClassVar[Mapping[str, Any]] = {}
    """What a role runs on without a file (`--config` left out): a one-machine trial on
    loopback. Used only then: a file never inherits them, so a provisioned device can never
    fall back on the trial's identity. `examples/<role>.toml` writes them out."""


class BrokerSettings(Section):
    """Where an MQTT client connects and how it proves who it is."""

    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    tls_ca: Path | None = Field(None, description="CA certificate; enables TLS when set")
    tls_cert: Path | None = None
    tls_key: Path | None = None
    keepalive_s: int = Field(30, ge=5, le=3600)

    def resolved_password(self) -> str | None:
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_file is not None:
            return self.password_file.read_text(encoding="utf-8").strip()
        return None


class OutboxSettings(Section):
    """The local store-and-forward queue of one agent."""

    path: Path = Path("var/outbox.sqlite")
    max_bytes: int = Field(
        64 * 1024 * 1024,
        ge=64 * 1024,
        description="above this, routine telemetry is dropped (counted and reported); "
        "tickets and ratings are kept",
    )
    min_free_disk_bytes: int = Field(
        32 * 1024 * 1024,
        ge=0,
        description="below this much free disk, whatever the cap, routine events are dropped "
        "(counted, reported) and essential ones refused loudly",
    )


class UplinkSettings(Section):
    """How an outbox drains to the next hop."""

    batch_max_events: int = Field(500, ge=1, le=5000)
    batch_max_bytes: int = Field(192 * 1024, ge=1024, le=4 * 1024 * 1024)
    inflight_batches: int = Field(8, ge=1, le=64)
    ack_timeout_s: float = Field(
        10.0, gt=0, description="no acknowledgement for this long: probe the receiver with one event"
    )
    probe_max_s: float = Field(
        60.0, gt=0,
        description="the longest wait between two probes of a silent receiver (the wait doubles "
        "from ack_timeout_s up to this)",
    )
    heartbeat_s: float = Field(30.0, gt=0)
    session_expiry_s: int = Field(7 * 24 * 3600, ge=0)
    reconnect_min_s: float = Field(0.5, gt=0)
    reconnect_max_s: float = Field(30.0, gt=0)


def format_validation_error(error: ValidationError, source: str) -> str:
    lines = [f"{source}: {error.error_count()} problem(s) in the configuration:"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        got = item.get("input")
        got_text = "" if isinstance(got, dict) else f" (got {got!r})"
        if item["type"] == "extra_forbidden" or any(w in key for w in ("pass", "secret", "key")):
            got_text = ""  # a misspelt secret must not be echoed into a log
        lines.append(f"  - {key}: {item['msg']}{got_text}")
    return "\n".join(lines)


def load_config(model: type[ModelT], path: str | Path | None, **overrides: Any) -> ModelT:
    """Read a TOML file into `model`; with no path, the embedded defaults (its `trial_defaults`).

    Relative paths inside the file stay relative to the working directory, as
    systemd units set `WorkingDirectory=` to the agent's data directory.
    """
    data: dict[str, Any] = copy.deepcopy(dict(getattr(model, "trial_defaults", {})))
    source = "the embedded defaults"
    if path is not None:
        source = str(path)
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)  # a file replaces the trial's defaults whole
        except FileNotFoundError as exc:
            raise ConfigError(f"{source}: no such configuration file") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    data.update(overrides)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from exc
