"""Commands of the provisioning domain that go to devices: the gateway's self-test verdict."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contract.kinds import DeviceState
from contract.registry import CommandBody, command_type


@command_type("selftest.result")
class SelftestResult(CommandBody):
    """The gateway's answer to a `device.selftest`, on the device's command topic."""

    command: Literal["selftest.result"] = "selftest.result"
    device: str
    passed: bool
    state: DeviceState | Literal["unknown"]
    failed: list[str] = Field(default_factory=list, description="'step: reason' of each failed step")
