"""The demo hall's video path: ports and tokens for the recorder's, the gateway's and central's `[video]`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from spine.broker.runner import free_port


@dataclass(frozen=True)
class DemoVideo:
    """One hall's video links on loopback, each hop with a fresh token of its own."""

    recorder_port: int = field(default_factory=free_port)
    gateway_port: int = field(default_factory=free_port)
    recorder_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    hall_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    def recorder(self) -> dict[str, Any]:
        return {"host": "127.0.0.1", "port": self.recorder_port, "token": {"token": self.recorder_token}}

    def gateway(self, recorder: str) -> dict[str, Any]:
        return {"host": "127.0.0.1", "port": self.gateway_port, "token": {"token": self.hall_token},
                "recorders": [{"device": recorder, "url": f"http://127.0.0.1:{self.recorder_port}",
                               "token": {"token": self.recorder_token}}]}

    def central(self, hall: str) -> dict[str, Any]:
        return {"halls": [{"hall": hall, "url": f"http://127.0.0.1:{self.gateway_port}",
                           "token": {"token": self.hall_token}}]}
