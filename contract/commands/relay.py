"""Commands central sends to one device of a hall: routed by the gateway, never read by it.

Central adds the target device as a `device` key beside the command; the
gateway checks the device belongs to its hall and relays the command without
that key, so the device's own strict schema sees exactly its command.
"""

from __future__ import annotations

import json
from typing import Any

from contract.registry import CommandBody

ROUTE_KEY = "device"


def routed(device: str, command: CommandBody) -> dict[str, Any]:
    """The command as central sends it to reach `device`: its body plus the routing key."""
    return {**command.model_dump(mode="json", by_alias=True), ROUTE_KEY: device}


def for_device(device: str, command: CommandBody) -> str:
    """The payload central publishes on `central/<hall>/cmd` to reach `device`."""
    return json.dumps(routed(device, command), ensure_ascii=False, separators=(",", ":"))


def route_of(raw: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(target device or None, the command as the device must see it)."""
    device = raw.get(ROUTE_KEY)
    if not isinstance(device, str):
        return None, raw
    return device, {key: value for key, value in raw.items() if key != ROUTE_KEY}
