"""Each device kind's agent: its configuration model, its systemd unit, its run command.

A device's hardware settings (printer, keypad adapter, pins, cameras,
services) are sections of its agent's own TOML. Provisioning renders them
into the bundle and validates the whole file with the agent's own model, so
a technician learns of a wrong pin or a missing USB id at their desk, not
from a Pi that keeps restarting in the hall.
"""

from __future__ import annotations

import importlib
import json
import re
import tomllib
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from provisioning.model import DeviceKind
from spine.config import format_validation_error

RESERVED = frozenset({"device", "broker", "outbox", "data_dir"})
"""Identity, credentials and state location belong to provisioning, never to settings."""


@dataclass(frozen=True)
class Role:
    model: str
    """`module:Class` of the agent's configuration, imported only when needed."""
    unit: str
    command: str
    """The `hall` subcommand that runs the agent with `--config`."""


ROLES: dict[DeviceKind, Role] = {
    DeviceKind.KIOSK: Role("edge.queue_kiosk.config:KioskConfig", "hallwatch-kiosk", "kiosk run"),
    DeviceKind.CALLER: Role("edge.window_caller.config:CallerConfig", "hallwatch-caller", "caller run"),
    DeviceKind.RATING: Role("edge.rating_terminal.config:RatingTerminalConfig", "hallwatch-rating",
                            "rating run"),
    DeviceKind.RECORDER: Role("edge.camera_recorder.config:RecorderConfig", "hallwatch-recorder",
                              "recorder run"),
    DeviceKind.DISPLAY: Role("edge.hall_display.config:DisplayConfig", "hallwatch-display", "display run"),
    DeviceKind.SIM: Role("edge.runtime.agent:AgentConfig", "hallwatch-sim", "device simulate"),
}


class SettingsError(ValueError):
    """Settings the agent would refuse; the message lists every problem at once."""


def config_model(kind: DeviceKind) -> type[BaseModel]:
    module, _, name = ROLES[kind].model.partition(":")
    model = getattr(importlib.import_module(module), name)
    assert isinstance(model, type) and issubclass(model, BaseModel)
    return model


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise SettingsError(f"{value!r} cannot be written to TOML")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def settings_toml(settings: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(top-level lines, table lines) of the settings, in TOML."""
    clash = RESERVED & set(settings)
    if clash:
        raise SettingsError(f"settings may not set {', '.join(sorted(clash))}: provisioning writes those")
    top, tables = [], []
    for key, value in settings.items():
        if isinstance(value, dict):
            tables += ["", f"[{_key(key)}]"] + [f"{_key(k)} = {_value(v)}" for k, v in value.items()]
        elif _is_table_array(value):
            for item in value:
                tables += ["", f"[[{_key(key)}]]"] + [f"{_key(k)} = {_value(v)}" for k, v in item.items()]
        else:
            top.append(f"{_key(key)} = {_value(value)}")
    return top, tables


def check_agent_config(kind: DeviceKind, text: str) -> None:
    """Validate a rendered agent TOML with the agent's own model; SettingsError lists every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"the settings do not make valid TOML: {exc}") from exc
    try:
        config_model(kind).model_validate(data)
    except ValidationError as exc:
        raise SettingsError(format_validation_error(exc, f"the {kind.value} settings")) from exc
