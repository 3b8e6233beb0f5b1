"""Event types of the provisioning domain: self-tests, configuration reports, device states.

A device records `device.selftest` after running its checks (the gateway
turns a pass into `active`) and `device.config_applied` after applying a
configuration message. The gateway records `device.state_changed` whenever
its registry moves a device, so central's registry follows.
"""

from __future__ import annotations

from pydantic import Field

from contract.authority import About
from contract.kinds import DEVICE_AUTHORS, Author
from contract.registry import Body, event_type

STATE = r"^(registered|provisioned|active|retired)$"


class SelfTestStep(Body):
    """One check of a self-test and its plain-language outcome."""

    name: str = Field(max_length=80)
    passed: bool
    reason: str = Field(max_length=500, description="what was seen, or what to do about it")
    duration_ms: int = Field(ge=0)


@event_type("device.selftest", authors=DEVICE_AUTHORS, about=About.ITSELF, essential=True)
class DeviceSelfTest(Body):
    """A device's self-test result; a pass makes a provisioned device active."""

    kind: str = Field(max_length=40)
    passed: bool
    steps: list[SelfTestStep] = Field(max_length=100)
    config_version: int | None = Field(None, description="the configuration the device runs")
    software: str | None = Field(None, max_length=40)


@event_type("device.config_applied", authors=DEVICE_AUTHORS, about=About.ITSELF, essential=True)
class DeviceConfigApplied(Body):
    """A device's report on a configuration message: applied, or refused and why."""

    version: int = Field(ge=1)
    applied: bool
    reason: str = Field("", max_length=500)


@event_type("device.state_changed", authors=Author.GATEWAY, about=About.OWN_HALL, essential=True)
class DeviceStateChanged(Body):
    """Recorded by a gateway when its registry moves a device (self-test passed, retired)."""

    device: str
    state: str = Field(pattern=STATE)
    previous: str | None = Field(None, pattern=STATE)
    reason: str = Field(max_length=500)
    credential_version: int | None = Field(
        None, description="the credentials the state applies to: a newer re-provisioning supersedes it"
    )


SELFTEST_RESULT_COMMAND = "selftest.result"
"""The gateway's answer to a `device.selftest`, on the device's command topic:
{"command": "selftest.result", "device", "passed", "state", "failed": [reasons]}."""
